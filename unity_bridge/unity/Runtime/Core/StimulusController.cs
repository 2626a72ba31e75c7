using System;
using System.Collections.Generic;
using System.Globalization;
using Vrclinic.Protocol;

namespace Vrclinic.Bridge
{
    /// <summary>
    /// The stimulus side of the protocol for declared parameters (SPEC.md, section 7): answers
    /// set_parameter with parameter_applied (or out_of_range / unknown_parameter / busy),
    /// runs ramps with at most 10 progress reports a second, handles load_scene, make_safe
    /// (and the watchdog), pause and resume, and sends scene_status on every change and after
    /// every welcome. The engine applies what it is told through the events. No UnityEngine;
    /// call <see cref="Tick"/> on the thread that polls the client, after Poll.
    /// </summary>
    public sealed class StimulusController
    {
        /// <summary>At most this often a ramp reports progress (10 per second).</summary>
        public const double AppliedReportS = 0.1;

        sealed class Ramp
        {
            public double Start, Target, StartedAt, Duration, LastReport;
        }

        readonly EngineClient client;
        readonly Dictionary<string, SceneSpec> scenes = new Dictionary<string, SceneSpec>();
        readonly List<string> sceneOrder = new List<string>();
        Dictionary<string, double> values = new Dictionary<string, double>();
        readonly Dictionary<string, Ramp> ramps = new Dictionary<string, Ramp>();
        string beforeSafeScene;
        Dictionary<string, double> beforeSafeValues;
        double pausedAt;
        double loadProgress = 1.0;
        string statusText = "";

        /// <summary>A parameter's applied value changed (a set_parameter, a ramp step, a load,
        /// a resume): show it. Arguments: parameter name, value.</summary>
        public event Action<string, double> ParameterChanged;
        /// <summary>Load this scene with these starting values, then call
        /// <see cref="ReportLoaded"/> (or <see cref="ReportLoadFailed"/>). Without a subscriber
        /// the scene counts as loaded at once.</summary>
        public event Action<string, IDictionary<string, double>> LoadSceneRequested;
        /// <summary>Fade to the calm scene now. Arguments: fade seconds, reason, true when the
        /// watchdog (or a bye) caused it rather than the therapist.</summary>
        public event Action<double, string, bool> MakeSafe;
        /// <summary>Continue. Arguments: fade seconds, true when coming back from the calm scene
        /// (the scene and values before make_safe are restored) rather than from pause.</summary>
        public event Action<double, bool> Resumed;
        public event Action Paused;

        public StimulusController(EngineClient client)
        {
            if (client == null) throw new ArgumentNullException("client");
            this.client = client;
            State = SceneState.Running;
            SceneId = "";
            client.Connected += (welcome, resumed) => SendStatus();
            client.SetParameterReceived += OnSetParameter;
            client.LoadSceneReceived += OnLoadScene;
            client.PauseReceived += (msg, id) => OnPause();
            client.ResumeReceived += (msg, id) => OnResume(msg.FadeS);
            client.MakeSafeRequested += OnMakeSafe;
        }

        public string SceneId { get; private set; }
        public SceneState State { get; private set; }
        /// <summary>The scene declared with calm = true (what make_safe fades to); null when none is.</summary>
        public string CalmSceneId { get; private set; }

        public IDictionary<string, double> Values { get { return new Dictionary<string, double>(values); } }

        public bool IsRamping(string name) { return ramps.ContainsKey(name); }

        public double Value(string name)
        {
            double v;
            if (!values.TryGetValue(name, out v)) throw new KeyNotFoundException("no parameter '" + name + "' in scene '" + SceneId + "'");
            return v;
        }

        /// <summary>Declares (or replaces) a scene; the catalogue is sent again when connected.</summary>
        public void DeclareScene(SceneSpec scene)
        {
            if (scene == null) throw new ArgumentNullException("scene");
            if (!scenes.ContainsKey(scene.Id)) sceneOrder.Add(scene.Id);
            scenes[scene.Id] = scene;
            if (scene.Calm) CalmSceneId = scene.Id;
            else if (CalmSceneId == scene.Id) CalmSceneId = null;
            var all = new List<SceneSpec>();
            foreach (var id in sceneOrder) all.Add(scenes[id]);
            client.Scenes = all;
            if (scene.Id == SceneId) SyncValuesWithDeclaration();
        }

        /// <summary>The engine is showing this scene (at start, or after loading it by itself):
        /// its parameters start at their defaults. Sends scene_status.</summary>
        public void EnterScene(string sceneId)
        {
            var spec = Scene(sceneId);
            SceneId = sceneId;
            values = Defaults(spec);
            ramps.Clear();
            beforeSafeScene = null;
            State = SceneState.Running;
            loadProgress = 1.0;
            statusText = "";
            foreach (var kv in values) Changed(kv.Key, kv.Value);
            SendStatus();
        }

        /// <summary>The engine changed a parameter itself (not asked by the console): reported
        /// with parameter_applied, ref_id -1.</summary>
        public void SetValue(string name, double value)
        {
            var spec = Parameter(SceneId, name);
            if (spec == null) throw new ArgumentException("scene '" + SceneId + "' has no parameter '" + name + "'");
            if (value < spec.Min || value > spec.Max)
                throw new ArgumentOutOfRangeException("value", value, name + " must be within " + spec.Min + " … " + spec.Max);
            ramps.Remove(name);
            values[name] = value;
            Changed(name, value);
            ReportApplied(name, -1, client.Now);
        }

        public void ReportLoadProgress(double progress)
        {
            if (State != SceneState.Loading) return;
            loadProgress = Math.Max(0.0, Math.Min(1.0, progress));
            SendStatus();
        }

        public void ReportLoaded()
        {
            if (State != SceneState.Loading) return;
            State = SceneState.Running;
            loadProgress = 1.0;
            SendStatus();
            client.Send(new Marker { Label = ProtocolException.Clip("scene " + SceneId + " loaded", 128), At = client.Now });
        }

        public void ReportLoadFailed(string text)
        {
            if (State != SceneState.Loading) return;
            State = SceneState.Failed;
            statusText = ProtocolException.Clip(text ?? "", 1024);
            SendStatus();
        }

        /// <summary>Advances ramps and reports their progress. Call every frame.</summary>
        public void Tick()
        {
            if (State == SceneState.Paused || ramps.Count == 0) return;
            double t = client.Now;
            var names = new List<string>(ramps.Keys);
            foreach (var name in names)
            {
                var ramp = ramps[name];
                if (t >= ramp.StartedAt + ramp.Duration)
                {
                    values[name] = ramp.Target;
                    ramps.Remove(name);
                    Changed(name, ramp.Target);
                    ReportApplied(name, -1, t);
                    continue;
                }
                double frac = Math.Max(0.0, Math.Min(1.0, (t - ramp.StartedAt) / ramp.Duration));
                double v = ramp.Start + (ramp.Target - ramp.Start) * frac;
                values[name] = v;
                Changed(name, v);
                if (t - ramp.LastReport >= AppliedReportS)
                {
                    ramp.LastReport = t;
                    ReportApplied(name, -1, t);
                }
            }
        }

        // -- the console's requests ----------------------------------------------------------

        void OnSetParameter(SetParameter msg, long id)
        {
            if (State == SceneState.Safe || State == SceneState.Loading)
            {
                string what = State == SceneState.Safe
                    ? "the scene is calm after make safe: resume or load a scene first"
                    : "the scene is still loading";
                client.SendError(ErrorCode.Busy, "cannot set " + msg.Name + ": " + what, msg, id);
                return;
            }
            var spec = Parameter(SceneId, msg.Name);
            if (spec == null)
            {
                client.SendError(ErrorCode.UnknownParameter,
                    "scene '" + SceneId + "' has no parameter '" + msg.Name + "' (it has " + Names() + ")", msg, id);
                return;
            }
            string outside = OutOfRange(spec, msg.Value);
            if (outside != null)
            {
                client.SendError(ErrorCode.OutOfRange, outside, msg, id);
                return;
            }
            double t = client.Now;
            if (msg.RampS <= 0)
            {
                ramps.Remove(msg.Name);
                values[msg.Name] = msg.Value;
                Changed(msg.Name, msg.Value);
            }
            else
            {
                ramps[msg.Name] = new Ramp { Start = values[msg.Name], Target = msg.Value, StartedAt = t, Duration = msg.RampS, LastReport = t };
            }
            ReportApplied(msg.Name, id, t);
        }

        void OnLoadScene(LoadScene msg, long id)
        {
            SceneSpec spec;
            if (!scenes.TryGetValue(msg.SceneId, out spec))
            {
                client.SendError(ErrorCode.UnknownScene, "no scene '" + msg.SceneId + "'", msg, id);
                return;
            }
            var start = Defaults(spec);
            foreach (var pv in msg.Parameters)
            {
                var p = Parameter(msg.SceneId, pv.Name);
                if (p == null)
                {
                    client.SendError(ErrorCode.UnknownParameter, "scene '" + msg.SceneId + "' has no '" + pv.Name + "'", msg, id);
                    return;
                }
                string outside = OutOfRange(p, pv.Value);
                if (outside != null)
                {
                    client.SendError(ErrorCode.OutOfRange, outside, msg, id);
                    return;
                }
                start[pv.Name] = pv.Value;
            }
            SceneId = msg.SceneId;
            values = start;
            ramps.Clear();
            beforeSafeScene = null;
            beforeSafeValues = null;
            statusText = "";
            var load = LoadSceneRequested;
            if (load == null)
            {
                State = SceneState.Running;
                loadProgress = 1.0;
                foreach (var kv in values) Changed(kv.Key, kv.Value);
                SendStatus();
                return;
            }
            State = SceneState.Loading;
            loadProgress = 0.0;
            SendStatus();
            load(SceneId, new Dictionary<string, double>(values));
            foreach (var kv in values) Changed(kv.Key, kv.Value);
        }

        void OnMakeSafe(double fadeS, string reason, bool watchdog)
        {
            if (State != SceneState.Safe)
            {
                beforeSafeScene = SceneId;
                beforeSafeValues = new Dictionary<string, double>(values);
            }
            ramps.Clear();
            State = SceneState.Safe;
            var safe = MakeSafe;
            if (safe != null) safe(fadeS, reason, watchdog);
            SendStatus();
        }

        void OnPause()
        {
            if (State != SceneState.Running) return;
            State = SceneState.Paused;
            pausedAt = client.Now;
            var paused = Paused;
            if (paused != null) paused();
            SendStatus();
        }

        void OnResume(double fadeS)
        {
            double t = client.Now;
            if (State == SceneState.Paused)
            {
                foreach (var ramp in ramps.Values)
                {
                    ramp.StartedAt += t - pausedAt; // ramps stood still while paused
                    ramp.LastReport += t - pausedAt;
                }
                State = SceneState.Running;
                var resumed = Resumed;
                if (resumed != null) resumed(fadeS, false);
            }
            else if (State == SceneState.Safe && beforeSafeScene != null)
            {
                SceneId = beforeSafeScene;
                values = beforeSafeValues;
                beforeSafeScene = null;
                beforeSafeValues = null;
                State = SceneState.Running;
                foreach (var kv in values) Changed(kv.Key, kv.Value);
                var resumed = Resumed;
                if (resumed != null) resumed(fadeS, true);
            }
            else
            {
                return;
            }
            SendStatus();
        }

        // -- helpers ------------------------------------------------------------------------

        void SendStatus()
        {
            if (client.State != LinkState.Connected) return; // sent again after the next welcome
            bool safe = State == SceneState.Safe;
            var status = new SceneStatus
            {
                SceneId = safe && CalmSceneId != null ? CalmSceneId : SceneId,
                State = State,
                Progress = loadProgress,
                Text = statusText,
            };
            if (!safe)
                foreach (var kv in values) status.Parameters.Add(new ParameterValue { Name = kv.Key, Value = kv.Value });
            client.Send(status);
        }

        void ReportApplied(string name, long refId, double t)
        {
            Ramp ramp;
            bool ramping = ramps.TryGetValue(name, out ramp);
            client.Send(new ParameterApplied
            {
                Name = name,
                Value = values[name],
                Target = ramping ? ramp.Target : values[name],
                Ramping = ramping,
                RefId = refId,
                AppliedAt = t,
            });
        }

        void Changed(string name, double value)
        {
            var changed = ParameterChanged;
            if (changed != null) changed(name, value);
        }

        SceneSpec Scene(string sceneId)
        {
            SceneSpec spec;
            if (!scenes.TryGetValue(sceneId, out spec)) throw new ArgumentException("no scene '" + sceneId + "' declared");
            return spec;
        }

        ParameterSpec Parameter(string sceneId, string name)
        {
            SceneSpec spec;
            if (sceneId == null || !scenes.TryGetValue(sceneId, out spec)) return null;
            foreach (var p in spec.Parameters)
                if (p.Name == name) return p;
            return null;
        }

        static Dictionary<string, double> Defaults(SceneSpec spec)
        {
            var d = new Dictionary<string, double>();
            foreach (var p in spec.Parameters) d[p.Name] = p.Default;
            return d;
        }

        void SyncValuesWithDeclaration()
        {
            var defaults = Defaults(scenes[SceneId]);
            foreach (var kv in defaults)
                if (!values.ContainsKey(kv.Key)) values[kv.Key] = kv.Value;
            foreach (var name in new List<string>(values.Keys))
                if (!defaults.ContainsKey(name)) { values.Remove(name); ramps.Remove(name); }
        }

        static string OutOfRange(ParameterSpec spec, double value)
        {
            if (value >= spec.Min && value <= spec.Max) return null;
            var inv = CultureInfo.InvariantCulture;
            return spec.Name + " = " + value.ToString("G6", inv) + " is outside " + spec.Min.ToString("G6", inv) +
                   " … " + spec.Max.ToString("G6", inv) + (spec.Unit.Length > 0 ? " " + spec.Unit : "");
        }

        string Names()
        {
            return values.Count == 0 ? "none" : string.Join(", ", new List<string>(values.Keys).ToArray());
        }
    }
}
