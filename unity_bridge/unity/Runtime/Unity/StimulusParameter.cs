using System;
using UnityEngine;
using UnityEngine.Events;
using UnityEngine.SceneManagement;
using Vrclinic.Protocol;

namespace Vrclinic.Bridge.Unity
{
    /// <summary>
    /// Declares one stimulus parameter of a scene, so that the console shows a slider for it
    /// (name, label, unit, min, max, step, default). When the therapist moves the slider — or
    /// a ramp runs, a scene loads, resume restores values — the value arrives through
    /// <see cref="onValueChanged"/>: wire it to the scene object (e.g. a spider's distance).
    /// </summary>
    [AddComponentMenu("vrclinic/Stimulus Parameter")]
    public sealed class StimulusParameter : MonoBehaviour
    {
        [Serializable] public class FloatEvent : UnityEvent<float> { }

        [Tooltip("Identifier used by the console, e.g. distance (lower case, no spaces)")]
        [SerializeField] string parameterName = "distance";
        [Tooltip("What the therapist reads next to the slider")]
        [SerializeField] string label = "Spider distance";
        [Tooltip("Unit shown after the number, e.g. m; empty when unitless")]
        [SerializeField] string unit = "m";
        [SerializeField] float min = 0.3f;
        [SerializeField] float max = 5f;
        [Tooltip("Smallest meaningful change; 0 = continuous")]
        [SerializeField] float step = 0.1f;
        [SerializeField] float defaultValue = 5f;
        [Tooltip("True when a higher value is more frightening (false for a distance)")]
        [SerializeField] bool intensityIncreases = true;
        [Tooltip("Scene id this parameter belongs to; empty: the Unity scene's name")]
        [SerializeField] string sceneId = "";

        public FloatEvent onValueChanged = new FloatEvent();

        public string ParameterName { get { return parameterName; } }
        public string SceneId { get { return string.IsNullOrEmpty(sceneId) ? gameObject.scene.name : sceneId; } }
        /// <summary>The value last applied (the default until the console changes it).</summary>
        public float Value { get; private set; }

        void Awake() { Value = defaultValue; }

        void OnEnable()
        {
            var link = VrclinicLink.Active;
            if (link != null) link.Register(this);
            else Debug.LogWarning("vrclinic: no VrclinicLink in the scene; '" + parameterName + "' is not declared.", this);
        }

        void OnDisable()
        {
            var link = VrclinicLink.Active;
            if (link != null) link.Unregister(this);
        }

        void OnValidate()
        {
            if (max < min) max = min;
            step = Mathf.Max(0f, step);
            defaultValue = Mathf.Clamp(defaultValue, min, max);
            if (parameterName != null) parameterName = parameterName.Trim();
        }

        /// <summary>Sets the declaration from code (as the inspector would); the console gets
        /// the new catalogue on the next frame.</summary>
        public void Configure(string name, string label, string unit, float min, float max, float step,
            float defaultValue, bool intensityIncreases, string sceneId = "")
        {
            parameterName = name;
            this.label = label;
            this.unit = unit;
            this.min = min;
            this.max = max;
            this.step = step;
            this.defaultValue = defaultValue;
            this.intensityIncreases = intensityIncreases;
            this.sceneId = sceneId;
            OnValidate();
            Value = this.defaultValue;
            var link = VrclinicLink.Active;
            if (isActiveAndEnabled && link != null) link.Register(this);
        }

        public ParameterSpec ToSpec()
        {
            return new ParameterSpec
            {
                Name = parameterName, Label = label, Unit = unit ?? "",
                Min = min, Max = max, Step = step, Default = defaultValue, IntensityIncreases = intensityIncreases,
            };
        }

        internal void Apply(float value)
        {
            Value = value;
            onValueChanged.Invoke(value);
        }
    }
}
