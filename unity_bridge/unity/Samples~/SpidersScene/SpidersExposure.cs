using System.Collections;
using System.Collections.Generic;
using UnityEngine;
using Vrclinic.Bridge.Unity;

namespace Vrclinic.Samples
{
    /// <summary>
    /// A minimal exposure scene driven by the console. Add it to an empty GameObject in a scene
    /// with a camera; it creates the link (if the scene has none), two parameters (distance,
    /// count), a make-safe handler that fades a black-to-calm overlay, a SUDS prompt answered
    /// with the number keys in the editor (0 = 0 … 9 = 90, Enter = 100), and the mirror.
    /// Replace the cubes with your spiders and the overlay with your calm scene.
    /// </summary>
    public sealed class SpidersExposure : MonoBehaviour
    {
        [SerializeField] string consoleAddress = "tcp://127.0.0.1:5555";
        [SerializeField] GameObject spiderPrefab;

        readonly List<GameObject> spiders = new List<GameObject>();
        float distance = 5f;
        float calm;           // 0 = the scene, 1 = fully calm
        Coroutine fade;
        PromptHook prompts;
        string promptText;

        void Awake()
        {
            if (VrclinicLink.Active == null)
            {
                var linkObject = new GameObject("vrclinic Link");
                linkObject.SetActive(false); // set the fields before Awake runs
                var link = linkObject.AddComponent<VrclinicLink>();
                link.ConsoleAddress = consoleAddress;
                link.HeadsetName = SystemInfo.deviceName;
                linkObject.SetActive(true);
            }
            AddParameter("distance", "Spider distance", "m", 0.3f, 5f, 0.1f, 5f, false, SetDistance);
            AddParameter("count", "Number of spiders", "", 1f, 10f, 1f, 1f, true, SetCount);
            var safe = gameObject.AddComponent<MakeSafeHandler>();
            safe.onMakeSafe.AddListener(seconds => StartFade(1f, seconds));
            safe.onResume.AddListener(seconds => StartFade(0f, seconds));
            prompts = gameObject.AddComponent<PromptHook>();
            prompts.onPromptShown.AddListener((id, text, min, max) => promptText = text);
            prompts.onPromptHidden.AddListener(() => promptText = null);
            gameObject.AddComponent<MirrorCapture>();
            SetCount(1f);
        }

        void AddParameter(string name, string label, string unit, float min, float max, float step, float value,
            bool intensityIncreases, UnityEngine.Events.UnityAction<float> apply)
        {
            var holder = new GameObject("parameter " + name);
            holder.transform.SetParent(transform, false);
            holder.SetActive(false);
            var parameter = holder.AddComponent<StimulusParameter>();
            parameter.Configure(name, label, unit, min, max, step, value, intensityIncreases);
            parameter.onValueChanged.AddListener(apply);
            holder.SetActive(true);
        }

        void SetDistance(float metres)
        {
            distance = metres;
            Layout();
        }

        void SetCount(float count)
        {
            int n = Mathf.Clamp(Mathf.RoundToInt(count), 1, 10);
            while (spiders.Count < n)
            {
                var s = spiderPrefab != null ? Instantiate(spiderPrefab) : GameObject.CreatePrimitive(PrimitiveType.Cube);
                s.transform.localScale = Vector3.one * 0.1f;
                spiders.Add(s);
            }
            while (spiders.Count > n)
            {
                Destroy(spiders[spiders.Count - 1]);
                spiders.RemoveAt(spiders.Count - 1);
            }
            Layout();
        }

        void Layout()
        {
            var head = Camera.main != null ? Camera.main.transform : transform;
            for (int i = 0; i < spiders.Count; i++)
            {
                float angle = (i - (spiders.Count - 1) / 2f) * 8f;
                var dir = Quaternion.Euler(0, angle, 0) * Vector3.forward;
                spiders[i].transform.position = new Vector3(head.position.x, 0.05f, head.position.z) + dir * distance;
                spiders[i].SetActive(calm < 0.999f);
            }
        }

        void StartFade(float to, float seconds)
        {
            if (fade != null) StopCoroutine(fade);
            fade = StartCoroutine(Fade(to, seconds));
        }

        IEnumerator Fade(float to, float seconds)
        {
            float from = calm, t = 0f;
            while (t < seconds)
            {
                t += Time.unscaledDeltaTime;
                calm = Mathf.Lerp(from, to, t / seconds);
                RenderSettings.ambientLight = Color.Lerp(Color.gray, new Color(0.4f, 0.6f, 0.9f), calm);
                yield return null;
            }
            calm = to;
            Layout();
        }

        void Update()
        {
            if (promptText == null) return;
            for (int k = 0; k <= 9; k++)
                if (Input.GetKeyDown(KeyCode.Alpha0 + k)) prompts.Answer(k * 10);
            if (Input.GetKeyDown(KeyCode.Return)) prompts.Answer(100);
        }

        void OnGUI()
        {
            if (promptText != null) GUI.Label(new Rect(20, 20, 600, 40), promptText + "  (keys 0-9, Enter = 100)");
        }
    }
}
