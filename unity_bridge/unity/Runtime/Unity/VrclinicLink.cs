using System;
using System.Collections.Generic;
using UnityEngine;
using UnityEngine.Events;
using UnityEngine.SceneManagement;
using Vrclinic.Bridge.NetMQ;
using Vrclinic.Protocol;

namespace Vrclinic.Bridge.Unity
{
    /// <summary>
    /// The headset's link to the vrclinic console. Put one in the first scene. It owns the
    /// <see cref="EngineClient"/> and the <see cref="StimulusController"/>, pumps them from
    /// Update on the main thread (so a frozen game shows as a stale link on the console,
    /// as the protocol wants), declares the <see cref="StimulusParameter"/>s of the scene as
    /// the catalogue, and sends telemetry twice a second.
    /// </summary>
    [DisallowMultipleComponent]
    [DefaultExecutionOrder(-100)]
    [AddComponentMenu("vrclinic/Vrclinic Link")]
    public sealed class VrclinicLink : MonoBehaviour
    {
        [Tooltip("The console's ROUTER socket, e.g. tcp://192.168.1.20:5555")]
        [SerializeField] string consoleAddress = "tcp://192.168.1.20:5555";
        [Tooltip("This headset's name as the therapist sees it; unique in the clinic")]
        [SerializeField] string headsetName = "Room 1 Quest";
        [Tooltip("Headset model, e.g. Meta Quest 3 (optional)")]
        [SerializeField] string device = "";
        [Tooltip("Scene id of the calm scene make_safe fades to")]
        [SerializeField] string calmSceneId = "calm";
        [SerializeField] string calmSceneLabel = "Calm scene";
        [Tooltip("Scene id reported at start; empty: the active Unity scene's name")]
        [SerializeField] string startSceneId = "";
        [Tooltip("Keep the link across Unity scene loads")]
        [SerializeField] bool dontDestroyOnLoad = true;
        [Tooltip("Seconds between telemetry messages")]
        [SerializeField] float telemetryInterval = 0.5f;

        public UnityEvent onConnected = new UnityEvent();
        public UnityEvent onConsoleGone = new UnityEvent();
        public UnityEvent onConsoleBack = new UnityEvent();
        [Serializable] public class TextEvent : UnityEvent<string> { }
        public TextEvent onRefused = new TextEvent();

        static VrclinicLink active;
        readonly List<StimulusParameter> parameters = new List<StimulusParameter>();
        readonly Dictionary<string, string> sceneLabels = new Dictionary<string, string>();
        bool catalogueDirty;
        float nextTelemetry;
        float smoothedDelta = 1f / 72f;
        bool closed;

        /// <summary>The enabled link, for components that need it (null when there is none).</summary>
        public static VrclinicLink Active { get { return active; } }

        public EngineClient Client { get; private set; }
        public StimulusController Stimulus { get; private set; }

        public string ConsoleAddress { get { return consoleAddress; } set { consoleAddress = value; } }
        public string HeadsetName { get { return headsetName; } set { headsetName = value; } }

        void Awake()
        {
            if (active != null && active != this)
            {
                Debug.LogWarning("vrclinic: a second VrclinicLink was disabled; keep one per app.", this);
                enabled = false;
                return;
            }
            active = this;
            if (dontDestroyOnLoad) DontDestroyOnLoad(gameObject);
            var identity = new EngineIdentity
            {
                Name = headsetName,
                Engine = "Unity " + Application.unityVersion,
                AppVersion = Application.version,
                Device = string.IsNullOrEmpty(device) ? SystemInfo.deviceModel : device,
            };
            if (identity.Device.Length > 64) identity.Device = identity.Device.Substring(0, 64);
            Client = new EngineClient(new NetMqTransport(consoleAddress), MonotonicClock.Instance, identity);
            Client.HandlerFailed += exc => Debug.LogException(exc, this);
            Client.Connected += (welcome, resumed) =>
            {
                Debug.Log("vrclinic: connected to console '" + welcome.ConsoleName + "'" + (resumed ? " (resumed)" : ""), this);
                onConnected.Invoke();
            };
            Client.ConsoleGone += (why, silent) =>
            {
                Debug.LogWarning("vrclinic: console gone (" + why + "): making the scene safe", this);
                onConsoleGone.Invoke();
            };
            Client.ConsoleBack += after => onConsoleBack.Invoke();
            Client.Refused += (reason, text) =>
            {
                Debug.LogError("vrclinic: refused by the console (" + EnumWire.ToWire(reason) + "): " + text, this);
                onRefused.Invoke(text);
            };
            Stimulus = new StimulusController(Client);
            Stimulus.ParameterChanged += ApplyParameter;
            Stimulus.DeclareScene(new SceneSpec { Id = calmSceneId, Label = calmSceneLabel, Calm = true });
        }

        void OnEnable()
        {
            if (active == null) active = this;
        }

        void Start()
        {
            if (Client == null) return;
            RebuildCatalogue();
            string scene = string.IsNullOrEmpty(startSceneId) ? SceneManager.GetActiveScene().name : startSceneId;
            if (SceneHasParameters(scene) || scene == calmSceneId) Stimulus.EnterScene(scene);
        }

        /// <summary>Gives a scene id a label for the console's scene picker (default: the id).</summary>
        public void SetSceneLabel(string sceneId, string label)
        {
            sceneLabels[sceneId] = label;
            catalogueDirty = true;
        }

        internal void Register(StimulusParameter parameter)
        {
            if (!parameters.Contains(parameter)) parameters.Add(parameter);
            catalogueDirty = true;
        }

        internal void Unregister(StimulusParameter parameter)
        {
            parameters.Remove(parameter);
            catalogueDirty = true;
        }

        void Update()
        {
            if (Client == null || closed) return;
            smoothedDelta = Mathf.Lerp(smoothedDelta, Time.unscaledDeltaTime, 0.1f);
            if (catalogueDirty) RebuildCatalogue();
            try
            {
                Client.Poll();
            }
            catch (AggregateException exc)
            {
                Debug.LogException(exc, this);
            }
            Stimulus.Tick();
            if (Client.State == LinkState.Connected && Time.unscaledTime >= nextTelemetry)
            {
                nextTelemetry = Time.unscaledTime + telemetryInterval;
                SendTelemetry();
            }
        }

        void RebuildCatalogue()
        {
            catalogueDirty = false;
            var byScene = new Dictionary<string, SceneSpec>();
            foreach (var p in parameters)
            {
                string sceneId = p.SceneId;
                SceneSpec spec;
                if (!byScene.TryGetValue(sceneId, out spec))
                {
                    string label;
                    if (!sceneLabels.TryGetValue(sceneId, out label)) label = sceneId;
                    spec = new SceneSpec { Id = sceneId, Label = label };
                    byScene[sceneId] = spec;
                }
                if (spec.Parameters.Exists(x => x.Name == p.ParameterName))
                {
                    Debug.LogWarning("vrclinic: two parameters named '" + p.ParameterName + "' in scene '" + sceneId + "'; the second is ignored.", p);
                    continue;
                }
                spec.Parameters.Add(p.ToSpec());
            }
            foreach (var spec in byScene.Values)
            {
                if (spec.Id == calmSceneId) spec.Calm = true;
                Stimulus.DeclareScene(spec);
            }
        }

        bool SceneHasParameters(string sceneId)
        {
            foreach (var p in parameters)
                if (p.SceneId == sceneId) return true;
            return false;
        }

        void ApplyParameter(string name, double value)
        {
            foreach (var p in parameters)
                if (p.SceneId == Stimulus.SceneId && p.ParameterName == name) p.Apply((float)value);
        }

        void SendTelemetry()
        {
            var head = Camera.main != null ? Camera.main.transform : null;
            Vector3 pos = head != null ? head.position : Vector3.zero;
            Quaternion rot = head != null ? head.rotation : Quaternion.identity;
            float battery = SystemInfo.batteryLevel; // -1 when unknown
            var telemetry = new Telemetry
            {
                At = Client.Now,
                HeadPosition = new List<double> { pos.x, pos.y, pos.z },
                HeadRotation = new List<double> { rot.x, rot.y, rot.z, rot.w },
                Fps = Math.Min(1000.0, Math.Max(0.0, 1.0 / Math.Max(1e-3, smoothedDelta))),
                BatteryPct = battery < 0 ? 100.0 : Math.Min(100.0, Math.Max(0.0, battery * 100.0)),
                Charging = SystemInfo.batteryStatus == BatteryStatus.Charging || SystemInfo.batteryStatus == BatteryStatus.Full,
            };
            try
            {
                Client.Send(telemetry);
            }
            catch (ProtocolException exc)
            {
                Debug.LogWarning("vrclinic: telemetry not sent: " + exc.Message, this);
            }
        }

        void OnApplicationQuit() { Shutdown(); }

        void OnDestroy()
        {
            Shutdown();
            if (active == this) active = null;
        }

        void Shutdown()
        {
            if (closed || Client == null) return;
            closed = true;
            Client.Close("The headset app is closing.");
            NetMqRuntime.Cleanup(); // or the editor hangs on the next Play
        }
    }
}
