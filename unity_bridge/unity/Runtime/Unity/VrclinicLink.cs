using System;
using System.Collections.Generic;
using System.IO;
using UnityEngine;
using UnityEngine.Events;
using UnityEngine.SceneManagement;
using Vrclinic.Bridge.NetMQ;
using Vrclinic.Protocol;
using ConsoleKey = Vrclinic.Protocol.ConsoleKey;

namespace Vrclinic.Bridge.Unity
{
    /// <summary>
    /// The headset's link to the vrclinic console. Put one in the first scene. It owns the
    /// <see cref="EngineClient"/> and the <see cref="StimulusController"/>, pumps them from
    /// Update on the main thread (so a frozen game shows as a stale link on the console,
    /// as the protocol wants), declares the <see cref="StimulusParameter"/>s of the scene as
    /// the catalogue, and sends telemetry twice a second.
    ///
    /// Security (SPEC.md, section 10): the link is encrypted (CURVE) with this headset's key
    /// pair from its keys file, made on first start, and the console key pinned there when
    /// the headset was paired. An unpaired headset pairs first (<see cref="PairWithConsole"/>):
    /// it asks the console's pairing port for its key, raises <see cref="onPairingCode"/>
    /// with the six-digit code the app must show, connects, and keeps the console key once
    /// the technician has accepted the same code on the console (the console's welcome).
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

        [Header("Security")]
        [Tooltip("This headset's keys file: its key pair and the paired console's key (JSON, readable by its owner " +
                 "only). Empty: vrclinic/keys.json under Application.persistentDataPath. The environment variable " +
                 "VRCLINIC_KEYS, when set, wins.")]
        [SerializeField] string keysFile = "";
        [Tooltip("When this headset is not paired yet, ask the console to pair at start (the technician opens " +
                 "Devices, Pair a headset, on the console)")]
        [SerializeField] bool pairWhenUnpaired = true;
        [Tooltip("Refuse a keys file that other users of this computer can read (Linux, macOS). Never checked on " +
                 "Android, whose app storage is private to the app and reports modes that mean nothing.")]
        [SerializeField] bool checkKeysFilePermissions = true;
        [Tooltip("LAB BENCH ONLY, never with a patient: no encryption, for a console's 'allow unpaired engines' port")]
        [SerializeField] bool unencryptedLabBench = false;

        public UnityEvent onConnected = new UnityEvent();
        public UnityEvent onConsoleGone = new UnityEvent();
        public UnityEvent onConsoleBack = new UnityEvent();
        [Serializable] public class TextEvent : UnityEvent<string> { }
        /// <summary>The console refused this headset, or its keys cannot be used: show the text.</summary>
        public TextEvent onRefused = new TextEvent();
        [Serializable] public class PairingCodeEvent : UnityEvent<string, string> { }
        /// <summary>Pairing: show the console's name and the six-digit code ("123 456") to the person
        /// at the headset; the technician accepts on the console only if it shows the same code.</summary>
        public PairingCodeEvent onPairingCode = new PairingCodeEvent();
        /// <summary>Pairing: the console answered but pairing is not open there (the text says what to do).</summary>
        public TextEvent onPairingNotOpen = new TextEvent();
        /// <summary>Pairing: no answer from the console's pairing port, or an unusable one (the text says why).</summary>
        public TextEvent onPairingFailed = new TextEvent();
        /// <summary>Paired: the console welcomed this headset and its key is kept. Argument: the console's name.</summary>
        public TextEvent onPaired = new TextEvent();

        static VrclinicLink active;
        readonly List<StimulusParameter> parameters = new List<StimulusParameter>();
        readonly Dictionary<string, string> sceneLabels = new Dictionary<string, string>();
        readonly SwappableTransport transport = new SwappableTransport();
        EngineKeys keys;             // this headset's keys as in the keys file; null when unusable
        EngineKeys pendingKeys;      // while pairing: the console key to keep once welcomed
        ConsoleKeyRequest keyRequest;
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

        /// <summary>The keys file in use: VRCLINIC_KEYS, else the inspector's path, else
        /// vrclinic/keys.json under Application.persistentDataPath.</summary>
        public string KeysFilePath
        {
            get
            {
                var fromEnvironment = KeysFile.PathFromEnvironment();
                if (fromEnvironment != null) return fromEnvironment;
                if (!string.IsNullOrEmpty(keysFile)) return keysFile;
                return Path.Combine(Path.Combine(Application.persistentDataPath, "vrclinic"), "keys.json");
            }
        }

        /// <summary>True when the keys file holds a console key (this headset was paired).</summary>
        public bool IsPaired { get { return keys != null && keys.IsPaired; } }
        /// <summary>True while pairing: asking for the console's key, or waiting for the technician.</summary>
        public bool IsPairing { get { return keyRequest != null || pendingKeys != null; } }
        /// <summary>The code of the pairing under way ("123 456"), null when none.</summary>
        public string PairingCode { get; private set; }
        /// <summary>This headset's public key (never the secret one), null when its keys are unusable.</summary>
        public string PublicKey { get { return keys != null ? keys.Own.Public : null; } }

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
            // The client and the controller are made once, whatever the keys say, so that the
            // other components can subscribe; the connection underneath comes when it can.
            Client = new EngineClient(transport, MonotonicClock.Instance, identity);
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
            Client.Connected += (welcome, resumed) => KeepPairing(welcome);
            Client.Refused += OnRefused;
            Stimulus = new StimulusController(Client);
            Stimulus.ParameterChanged += ApplyParameter;
            Stimulus.DeclareScene(new SceneSpec { Id = calmSceneId, Label = calmSceneLabel, Calm = true });
            Connect();
        }

        // -- keys and pairing (the main thread) -------------------------------------------

        void Connect()
        {
            if (unencryptedLabBench)
            {
                Debug.LogWarning("vrclinic: UNENCRYPTED link to " + consoleAddress + " (lab bench only, never with a " +
                                 "patient): only a console's 'allow unpaired engines' port accepts it.", this);
                transport.Inner = NetMqTransport.Unencrypted(consoleAddress);
                return;
            }
            string path = KeysFilePath;
            try
            {
                bool created;
                keys = KeysFile.ReadOrCreate(path, CheckPermissions, out created);
                if (created) Debug.Log("vrclinic: made a new key pair for this headset in " + path, this);
            }
            catch (KeyProblem problem)
            {
                keys = null;
                Debug.LogError("vrclinic: cannot use this headset's keys, so it does not connect: " + problem.Message, this);
                onRefused.Invoke(problem.Message);
                return;
            }
            if (keys.IsPaired)
            {
                ConnectWith(keys);
            }
            else if (pairWhenUnpaired)
            {
                PairWithConsole();
            }
            else
            {
                string text = "this headset is not paired with a console yet (" + path + " has no console key): " +
                              "call PairWithConsole(), or tick Pair When Unpaired";
                Debug.LogWarning("vrclinic: " + text, this);
                onRefused.Invoke(text);
            }
        }

        bool CheckPermissions
        {
            // Android's app storage is private to the app, and its (emulated) modes mean nothing.
            get { return checkKeysFilePermissions && Application.platform != RuntimePlatform.Android; }
        }

        void ConnectWith(EngineKeys withConsole)
        {
            try
            {
                transport.Inner = new NetMqTransport(consoleAddress, withConsole);
            }
            catch (KeyProblem problem)
            {
                transport.Inner = null;
                Debug.LogError("vrclinic: " + problem.Message, this);
                onRefused.Invoke(problem.Message);
                return;
            }
            if (Client.State != LinkState.Connecting) Client.StartOver("connecting to the console again");
        }

        /// <summary>
        /// Pairs this headset with the console at <see cref="ConsoleAddress"/> (again, if it was
        /// paired before): asks the console's pairing port for its key, raises
        /// <see cref="onPairingCode"/> with the code to show, connects with that key, and keeps it
        /// in the keys file once the technician accepts the same code on the console. The
        /// technician must have opened Devices, Pair a headset, on the console; while they have
        /// not, <see cref="onPairingNotOpen"/> says so and the headset keeps asking.
        /// </summary>
        [ContextMenu("Pair with console")]
        public void PairWithConsole()
        {
            if (Client == null || closed) return;
            if (unencryptedLabBench)
            {
                Debug.LogWarning("vrclinic: an unencrypted lab-bench link is not paired.", this);
                return;
            }
            if (keys == null)
            {
                Debug.LogError("vrclinic: cannot pair: this headset's keys file is unusable (see the message above).", this);
                return;
            }
            CancelPairing(false);
            string endpoint;
            try
            {
                endpoint = Pairing.EndpointFor(consoleAddress);
            }
            catch (KeyProblem problem)
            {
                Debug.LogError("vrclinic: " + problem.Message, this);
                onPairingFailed.Invoke(problem.Message);
                return;
            }
            transport.Inner = null; // the encrypted link waits for the key
            if (Client.State == LinkState.Connected)
            {
                try
                {
                    Client.StartOver("pairing this headset (again)"); // the scene is made safe at once
                }
                catch (AggregateException exc)
                {
                    Debug.LogException(exc, this);
                }
            }
            Debug.Log("vrclinic: asking the console at " + endpoint + " for its key, to pair this headset", this);
            keyRequest = new ConsoleKeyRequest(NetMqTransport.ForPairingPort(endpoint), MonotonicClock.Instance, endpoint,
                                               headsetName, keys.Own.Public);
            keyRequest.KeyReceived += OnConsoleKey;
            keyRequest.PairingNotOpen += (answer, text) =>
            {
                PairingCode = keyRequest != null ? keyRequest.Code : null;
                Debug.LogWarning("vrclinic: " + text + " (asking again every second)", this);
                onPairingNotOpen.Invoke(text);
            };
            keyRequest.Failed += text =>
            {
                Debug.LogError("vrclinic: pairing failed: " + text, this);
                onPairingFailed.Invoke(text);
            };
        }

        /// <summary>Stops a pairing under way (e.g. the person at the headset saw another code
        /// than the console's) and forgets its console key; a paired headset reconnects with
        /// the key it had.</summary>
        public void CancelPairing()
        {
            CancelPairing(true);
        }

        void CancelPairing(bool reconnect)
        {
            bool wasPairing = IsPairing;
            if (keyRequest != null) keyRequest.Dispose();
            keyRequest = null;
            pendingKeys = null;
            PairingCode = null;
            if (!wasPairing || !reconnect) return;
            transport.Inner = null;
            if (keys != null && keys.IsPaired) ConnectWith(keys);
        }

        void OnConsoleKey(ConsoleKey answer, string code)
        {
            PairingCode = code;
            pendingKeys = keys.WithConsole(answer.PublicKey);
            Debug.Log("vrclinic: pairing with console '" + answer.ConsoleName + "': accept it on the console only if it " +
                      "shows the code " + code, this);
            onPairingCode.Invoke(answer.ConsoleName, code);
            ConnectWith(pendingKeys);
        }

        void KeepPairing(Welcome welcome)
        {
            if (pendingKeys == null) return;
            // The console welcomed us: the technician accepted the code. Now the key is kept.
            var paired = pendingKeys;
            pendingKeys = null;
            PairingCode = null;
            try
            {
                KeysFile.Write(KeysFilePath, paired);
                keys = paired;
                Debug.Log("vrclinic: paired with console '" + welcome.ConsoleName + "'; its key is kept in " + KeysFilePath, this);
            }
            catch (KeyProblem problem)
            {
                keys = paired;
                Debug.LogError("vrclinic: paired with console '" + welcome.ConsoleName + "', but its key could not be " +
                               "kept, so this headset must pair again after a restart: " + problem.Message, this);
            }
            onPaired.Invoke(welcome.ConsoleName);
        }

        void OnRefused(string reason, string text)
        {
            switch (reason)
            {
                case RefusalReason.NotPaired:
                    // Declined, closed or timed out on the console: forget the key we were given.
                    Debug.LogError("vrclinic: the console did not pair this headset (the technician declined, closed " +
                                   "pairing or let it time out): " + text + " To try again: Pair with console.", this);
                    pendingKeys = null;
                    PairingCode = null;
                    transport.Inner = null;
                    break;
                case RefusalReason.Revoked:
                    Debug.LogError("vrclinic: this headset was removed from the console's devices (revoked): " + text +
                                   " It stays disconnected until it is paired again (Pair with console).", this);
                    transport.Inner = null;
                    break;
                case RefusalReason.NotAdmitted:
                    // The link keeps trying: it connects by itself once the technician pairs it.
                    Debug.LogError("vrclinic: " + text + " (keys file " + KeysFilePath + "; still trying)", this);
                    break;
                default:
                    Debug.LogError("vrclinic: refused by the console (" + reason + "): " + text, this);
                    transport.Inner = null;
                    break;
            }
            onRefused.Invoke(text);
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
            if (keyRequest != null)
            {
                keyRequest.Poll();
                if (keyRequest != null && (keyRequest.State == KeyRequestState.Answered || keyRequest.State == KeyRequestState.Failed))
                {
                    keyRequest.Dispose();
                    keyRequest = null;
                }
            }
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
            if (keyRequest != null) keyRequest.Dispose();
            keyRequest = null;
            Client.Close("The headset app is closing."); // and the transport underneath
            NetMqRuntime.Cleanup(); // or the editor hangs on the next Play
        }
    }
}
