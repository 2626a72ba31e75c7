using System.Collections;
using UnityEngine;
using UnityEngine.Events;
using Vrclinic.Protocol;

namespace Vrclinic.Bridge.Unity
{
    /// <summary>
    /// Calms the scene when the console says make_safe or when the watchdog trips (the
    /// console's heartbeats stopped): <see cref="onMakeSafe"/> gets the fade length in
    /// seconds; wire it to whatever fades to the calm scene. <see cref="onResume"/> fires
    /// when the console brings the scene back after make_safe. When the fade is over, the
    /// console is told (safety_event make_safe_done).
    /// </summary>
    [AddComponentMenu("vrclinic/Make Safe Handler")]
    public sealed class MakeSafeHandler : MonoBehaviour
    {
        [System.Serializable] public class FadeEvent : UnityEvent<float> { }

        [Tooltip("Invoked with the fade length (s) on make_safe and on the watchdog")]
        public FadeEvent onMakeSafe = new FadeEvent();
        [Tooltip("Invoked only when the watchdog (or the console's bye) caused it")]
        public UnityEvent onWatchdog = new UnityEvent();
        [Tooltip("Invoked with the fade length (s) when resume brings the scene back")]
        public FadeEvent onResume = new FadeEvent();
        [Tooltip("Send safety_event make_safe_done when the fade is over")]
        [SerializeField] bool reportWhenCalm = true;

        VrclinicLink link;
        Coroutine pendingReport;

        void OnEnable()
        {
            link = VrclinicLink.Active;
            if (link == null || link.Stimulus == null)
            {
                Debug.LogWarning("vrclinic: MakeSafeHandler needs a VrclinicLink in the scene.", this);
                return;
            }
            link.Stimulus.MakeSafe += OnMakeSafe;
            link.Stimulus.Resumed += OnResumed;
        }

        void OnDisable()
        {
            if (link == null || link.Stimulus == null) return;
            link.Stimulus.MakeSafe -= OnMakeSafe;
            link.Stimulus.Resumed -= OnResumed;
        }

        void OnMakeSafe(double fadeS, string reason, bool watchdog)
        {
            onMakeSafe.Invoke((float)fadeS);
            if (watchdog) onWatchdog.Invoke();
            if (!reportWhenCalm) return;
            if (pendingReport != null) StopCoroutine(pendingReport);
            pendingReport = StartCoroutine(ReportCalm((float)fadeS));
        }

        void OnResumed(double fadeS, bool fromSafe)
        {
            if (pendingReport != null) StopCoroutine(pendingReport);
            pendingReport = null;
            if (fromSafe) onResume.Invoke((float)fadeS);
        }

        IEnumerator ReportCalm(float fadeS)
        {
            yield return new WaitForSecondsRealtime(fadeS);
            pendingReport = null;
            if (link == null || link.Client == null || link.Stimulus.State != SceneState.Safe) yield break;
            link.Client.Send(new SafetyEvent
            {
                Kind = SafetyKind.MakeSafeDone, Text = "The calm scene is fully shown.", At = link.Client.Now,
            });
        }
    }
}
