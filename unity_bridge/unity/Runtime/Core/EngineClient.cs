using System;
using System.Collections.Generic;
using Vrclinic.Protocol;

namespace Vrclinic.Bridge
{
    public enum LinkState
    {
        /// <summary>Sending hello until a welcome arrives.</summary>
        Connecting,
        Connected,
        /// <summary>The console refused us (version, duplicate name, not paired, revoked): a
        /// person must act. Nothing more is sent.</summary>
        Refused,
        Closed,
    }

    /// <summary>The reasons <see cref="EngineClient.Refused"/> gives: the bye reasons that stop
    /// the link (SPEC.md, section 4.2) as they are written on the wire, and not_admitted.</summary>
    public static class RefusalReason
    {
        public const string VersionMismatch = "version_mismatch";
        public const string DuplicateName = "duplicate_name";
        /// <summary>Pairing was declined, closed or timed out on the console: forget a console
        /// key this headset was not welcomed with, pair again.</summary>
        public const string NotPaired = "not_paired";
        /// <summary>The technician removed this headset from the console's devices.</summary>
        public const string Revoked = "revoked";
        public const string Refused = "refused";
        /// <summary>The console refused this headset's key during the encrypted handshake.
        /// Unlike the others the link keeps trying (it connects by itself once paired).</summary>
        public const string NotAdmitted = "not_admitted";
    }

    /// <summary>Who this engine is, as said in every hello.</summary>
    public sealed class EngineIdentity
    {
        /// <summary>The headset's name, unique in the clinic, e.g. "Room 2 Quest".</summary>
        public string Name = "";
        /// <summary>Engine and version, e.g. "Unity 2022.3.20f1".</summary>
        public string Engine = "";
        /// <summary>Version of the clinic's VR application.</summary>
        public string AppVersion = "";
        /// <summary>Headset model, e.g. "Meta Quest 3"; may be empty.</summary>
        public string Device = "";
        /// <summary>Random token chosen when the app starts (SPEC.md, section 4). Leave
        /// null to get a fresh one.</summary>
        public string InstanceId;
    }

    /// <summary>
    /// One engine's connection to one console: handshake, heartbeats, round-trip time and
    /// clock offset, reconnection, the watchdog, mirror flow control and error replies
    /// (SPEC.md, sections 4 to 9). The C# twin of unity_bridge/client.py, with the same
    /// timings.
    ///
    /// Threading: everything but <see cref="OfferFrame"/> belongs to one thread, the one
    /// that calls <see cref="Poll"/> — in Unity the main thread, from Update, because the
    /// heartbeat must come from the loop that would carry out a therapist's command (a
    /// frozen main thread must let the console see a stale link). Events are raised inside
    /// Poll, on that thread.
    ///
    /// The engine's duties, which the client cannot do for it: on <see cref="MakeSafeRequested"/>
    /// fade to the calm scene at once; after <see cref="Connected"/> send a scene_status
    /// (and again on every change of scene or state); answer set_parameter with
    /// parameter_applied. <see cref="StimulusController"/> does these for declared parameters.
    /// </summary>
    public sealed partial class EngineClient : IDisposable
    {
        /// <summary>A hello is dropped while TCP is not up yet (IMMEDIATE), so it is retried this often.</summary>
        public const double HelloRetryS = 0.25;
        public const double MirrorAckTimeoutS = 1.0;
        /// <summary>Errors sent to the console per second, at most (SPEC.md, section 9).</summary>
        public const int MaxErrorsPerSecond = 10;
        /// <summary>After bye(flooding) the console drops everything from us for this long
        /// (SPEC.md, section 4.2): no hello before.</summary>
        public const double FloodingBackoffS = 10.0;
        /// <summary>Refused "not_admitted" text (the words of unity_bridge/client.py).</summary>
        public const string NotAdmittedText =
            "The console refused this headset's key: it is not paired with that console (or was removed). " +
            "Ask the technician to open Devices, Pair a headset, on the console.";

        readonly ITransport transport;
        readonly IClock clock;
        readonly EngineIdentity identity;
        readonly object frameGate = new object();
        Decoder decoder = new Decoder(Role.Engine);
        PeerClock peer;
        List<SceneSpec> scenes = new List<SceneSpec>();
        long nextId = 1;
        long nextBeatSeq;
        bool hadSession;
        bool notAdmittedSaid;
        string sessionId;
        double nextHello;
        double nextBeat;
        double goneAt;
        readonly List<SafetyEvent> pendingReports = new List<SafetyEvent>();
        readonly Queue<double> errorTimes = new Queue<double>();

        // mirror flow control: at most one frame unacknowledged, and only the newest waits
        MirrorFrame offered;
        long frameSeq;
        bool inFlight;
        long inFlightSeq;
        double inFlightSentAt;

        /// <summary>Raised after every welcome. Arguments: the welcome, and whether this engine
        /// had a session with the console before (a reconnection).</summary>
        public event Action<Welcome, bool> Connected;
        /// <summary>The console's heartbeats stopped counting for longer than the watchdog
        /// timeout, or it said bye: make the scene safe now. Arguments: why, and how long
        /// the console has been silent (null after a bye).</summary>
        public event Action<string, double?> ConsoleGone;
        /// <summary>Heartbeats count again after ConsoleGone; the scene stays calm until the
        /// console sends resume or load_scene. Argument: seconds the console was gone.</summary>
        public event Action<double> ConsoleBack;
        /// <summary>The console refused this engine, or this engine refused the console's
        /// version. Arguments: the reason (a <see cref="RefusalReason"/>: the bye reason as on
        /// the wire, or not_admitted) and the text for a person. For every reason but
        /// not_admitted the client stops (State Refused; a person must act); when it was
        /// connected, ConsoleGone and MakeSafeRequested come first. not_admitted (the console
        /// refused this headset's key during the handshake) is said once per run of refusals
        /// and the client keeps trying, so that it connects by itself once paired.</summary>
        public event Action<string, string> Refused;
        /// <summary>One event for "calm the scene now": a make_safe message (its fade and
        /// reason) or the watchdog / a bye (fade <see cref="WatchdogFadeS"/>). Arguments:
        /// fade seconds, reason, true when it came from the watchdog or a bye.</summary>
        public event Action<double, string, bool> MakeSafeRequested;
        /// <summary>Every message for the engine (the typed events are raised too).</summary>
        public event Action<ProtocolMessage, long> MessageReceived;
        /// <summary>An event handler threw. Without a subscriber the exception propagates out
        /// of Poll (after the link's own work for that message is done).</summary>
        public event Action<Exception> HandlerFailed;

        public EngineClient(ITransport transport, IClock clock, EngineIdentity identity)
        {
            if (transport == null) throw new ArgumentNullException("transport");
            if (clock == null) throw new ArgumentNullException("clock");
            if (identity == null) throw new ArgumentNullException("identity");
            this.transport = transport;
            this.clock = clock;
            this.identity = identity;
            if (string.IsNullOrEmpty(identity.InstanceId))
                identity.InstanceId = Guid.NewGuid().ToString("N").Substring(0, 16);
            WatchdogTimeoutS = 0.5;
            HeartbeatIntervalS = 0.1;
            LostAfterS = 2.0;
            WatchdogFadeS = 0.5;
            peer = new PeerClock(WatchdogTimeoutS);
            State = LinkState.Connecting;
            MirrorSettings = new MirrorSettings { Enabled = false };
            nextHello = clock.Now;
        }

        public EngineIdentity Identity { get { return identity; } }
        public LinkState State { get; private set; }
        /// <summary>The last welcome; null before the first.</summary>
        public Welcome Welcome { get; private set; }
        /// <summary>What the console last asked for the mirror (disabled until it asks).</summary>
        public MirrorSettings MirrorSettings { get; private set; }
        /// <summary>The watchdog tripped (or the console said bye) and heartbeats have not come back.</summary>
        public bool IsConsoleGone { get; private set; }
        /// <summary>From the welcome; 0.5 s until then.</summary>
        public double WatchdogTimeoutS { get; private set; }
        public double HeartbeatIntervalS { get; private set; }
        /// <summary>Silence after which the link starts over with hello (the "lost" state).</summary>
        public double LostAfterS { get; set; }
        /// <summary>Fade reported with MakeSafeRequested when the watchdog trips ("at once").</summary>
        public double WatchdogFadeS { get; set; }

        public int FramesSent { get; private set; }
        public int FramesReplaced { get; private set; }
        public int DroppedSends { get; private set; }
        public int ErrorsSent { get; private set; }
        public int ErrorsSuppressed { get; private set; }
        /// <summary>Errors the console reported about what we sent (its text says what was wrong).</summary>
        public int ErrorsFromConsole { get; private set; }
        public int IgnoredFields { get { return decoder.IgnoredFields; } }
        public int IgnoredTypes { get { return decoder.IgnoredTypes; } }
        /// <summary>Median round-trip time, seconds; null before the first sample.</summary>
        public double? RttS { get { return peer.RttS; } }
        /// <summary>Console clock minus engine clock, seconds; null before the first sample.</summary>
        public double? ClockOffsetS { get { return peer.OffsetS; } }
        /// <summary>Seconds since the console's last counted heartbeat; null before the first.</summary>
        public double? ConsoleSilentForS { get { return peer.SilentFor(clock.Now); } }
        public double Now { get { return clock.Now; } }

        /// <summary>The scenes sent as scene_catalogue after every welcome. Setting it while
        /// connected sends the new catalogue at once.</summary>
        public IList<SceneSpec> Scenes
        {
            get { return scenes.AsReadOnly(); }
            set
            {
                scenes = new List<SceneSpec>(value ?? new SceneSpec[0]);
                if (State == LinkState.Connected) Send(new SceneCatalogue { Scenes = new List<SceneSpec>(scenes) });
            }
        }

        // -- any thread -------------------------------------------------------------------

        /// <summary>Hands over the newest mirror frame (JPEG). Any thread. A frame not yet sent
        /// is replaced: only the newest is ever sent, and only when the previous one was
        /// acknowledged (SPEC.md, section 8).</summary>
        public void OfferFrame(byte[] jpeg, int width, int height, double capturedAt)
        {
            lock (frameGate)
            {
                if (offered != null) FramesReplaced++;
                frameSeq++;
                offered = new MirrorFrame { Seq = frameSeq, Jpeg = jpeg, Width = width, Height = height, CapturedAt = capturedAt };
            }
        }

        /// <summary>True while connected and the console wants mirror frames: capture is worth
        /// its cost only then (any thread may ask; the answer may be one frame stale).</summary>
        public bool WantsMirrorFrame
        {
            get { return State == LinkState.Connected && MirrorSettings.Enabled; }
        }

        // -- the pumping thread -----------------------------------------------------------

        /// <summary>Sends an engine → console message now; returns its envelope id. Throws
        /// ProtocolException when the message is invalid. Dropped (silently, counted) while
        /// not connected: the engine resends its state after the next Connected.</summary>
        public long Send(ProtocolMessage message)
        {
            long id = nextId++;
            var frame = Codec.Encode(message, id);
            bool handshake = message is Hello || message is Bye;
            if (State == LinkState.Connected || (handshake && State != LinkState.Closed))
            {
                if (!transport.TrySend(frame)) DroppedSends++;
            }
            else
            {
                DroppedSends++;
            }
            return id;
        }

        /// <summary>Reports an error about a message the console sent (rate-limited like the
        /// client's own error replies). Use it for unknown_scene, out_of_range, busy, ...</summary>
        public void SendError(ErrorCode code, string text, ProtocolMessage about, long aboutId)
        {
            SendErrorLimited(new Error
            {
                Code = code,
                Text = ProtocolException.Clip(text, 1024),
                RefType = about != null ? about.TypeName : "",
                RefId = aboutId,
            });
        }

        /// <summary>Does the link's work: reads what arrived (raising events), then the
        /// handshake retries, heartbeat, watchdog and mirror. Call every frame. Reads at most
        /// <paramref name="maxFrames"/> frames, so a flood cannot stall the game.</summary>
        public void Poll(int maxFrames = 1000)
        {
            if (State == LinkState.Closed) return;
            Exception failure = null;
            byte[] frame;
            var handshakes = transport as IHandshakeReport;
            if (handshakes != null && handshakes.TakeHandshakeRefused())
            {
                try
                {
                    OnHandshakeRefused();
                }
                catch (HandlerException exc)
                {
                    failure = exc.InnerException;
                }
            }
            // Read first: after a long frame (a scene load hitch) the newest heartbeat is
            // already waiting and proves the console alive; the watchdog then has no reason
            // to trip.
            for (int i = 0; i < maxFrames && State != LinkState.Closed && transport.TryReceive(out frame); i++)
            {
                try
                {
                    OnFrame(frame, clock.Now);
                }
                catch (HandlerException exc)
                {
                    if (failure == null) failure = exc.InnerException;
                }
            }
            try
            {
                Housekeeping(clock.Now);
            }
            catch (HandlerException exc)
            {
                if (failure == null) failure = exc.InnerException;
            }
            if (failure != null) throw new AggregateException("an EngineClient event handler failed", failure);
        }

        /// <summary>
        /// Starts the link over with hello, on a new connection: after a refusal, once a
        /// person has acted (paired the headset again), or when the transport underneath was
        /// replaced (a <see cref="SwappableTransport"/> given another console key). A
        /// connected link is treated as lost first: the scene is made safe.
        /// </summary>
        public void StartOver(string why = "the link was started over")
        {
            if (State == LinkState.Closed) throw new ObjectDisposedException("EngineClient");
            Exception failure = null;
            double t = clock.Now;
            if (State == LinkState.Connected && !IsConsoleGone)
            {
                try
                {
                    Trip(why, null, t);
                }
                catch (HandlerException exc)
                {
                    failure = exc.InnerException;
                }
            }
            State = LinkState.Connecting;
            notAdmittedSaid = false;
            inFlight = false;
            nextHello = t;
            if (failure != null) throw new AggregateException("an EngineClient event handler failed", failure);
        }

        /// <summary>Says bye (when connected) and closes the transport.</summary>
        public void Close(string text = "The headset app is closing.")
        {
            if (State == LinkState.Closed) return;
            if (State == LinkState.Connected) Send(new Bye { Reason = ByeReason.Shutdown, Text = text });
            State = LinkState.Closed;
            transport.Dispose();
        }

        public void Dispose() { Close(); }

        // -- internals --------------------------------------------------------------------

        sealed class HandlerException : Exception
        {
            public HandlerException(Exception inner) : base(inner.Message, inner) { }
        }

        void Guard(Action call)
        {
            try
            {
                call();
            }
            catch (Exception exc)
            {
                var onFailure = HandlerFailed;
                if (onFailure == null) throw new HandlerException(exc);
                onFailure(exc);
            }
        }

        void Invoke<T>(Action<T, long> handler, T message, long id)
        {
            if (handler != null) Guard(() => handler(message, id));
        }

        void OnHandshakeRefused()
        {
            if (notAdmittedSaid || State == LinkState.Refused) return; // once, not at every reconnection attempt
            notAdmittedSaid = true;
            RaiseRefused(RefusalReason.NotAdmitted, NotAdmittedText);
        }

        void RaiseRefused(string reason, string text)
        {
            var refused = Refused;
            if (refused != null) Guard(() => refused(reason, text));
        }

        void Housekeeping(double t)
        {
            if (State == LinkState.Connecting && t >= nextHello) SendHello(t);
            if (State != LinkState.Connected) return;
            var silent = peer.SilentFor(t);
            if (silent.HasValue && silent.Value > WatchdogTimeoutS && !IsConsoleGone)
                Trip("no heartbeat from the console for " + Math.Round(silent.Value * 1000) + " ms", silent, t);
            if (silent.HasValue && silent.Value > LostAfterS)
            {
                // Start over: hello again until the console (or its successor) welcomes us.
                State = LinkState.Connecting;
                inFlight = false;
                SendHello(t);
                return;
            }
            if (t >= nextBeat)
            {
                nextBeat = Math.Max(nextBeat + HeartbeatIntervalS, t);
                Send(peer.MakeHeartbeat(nextBeatSeq++, t));
            }
            SendMirrorFrame(t);
        }

        void Trip(string why, double? silent, double t)
        {
            IsConsoleGone = true;
            goneAt = t;
            pendingReports.Add(new SafetyEvent
            {
                Kind = SafetyKind.Watchdog,
                Text = ProtocolException.Clip("Watchdog: " + why + "; faded to the calm scene.", 1024),
                At = t,
            });
            var gone = ConsoleGone;
            if (gone != null) Guard(() => gone(why, silent));
            var safe = MakeSafeRequested;
            if (safe != null) Guard(() => safe(WatchdogFadeS, "watchdog: " + why, true));
        }

        void SendHello(double t)
        {
            nextHello = t + HelloRetryS;
            Send(new Hello
            {
                Name = identity.Name,
                InstanceId = identity.InstanceId,
                ProtocolMajor = ProtocolVersion.Major,
                ProtocolMinor = ProtocolVersion.Minor,
                Engine = identity.Engine,
                AppVersion = identity.AppVersion,
                Device = identity.Device ?? "",
                SentAt = t,
                Resumed = hadSession,
            });
        }

        void SendErrorLimited(Error error)
        {
            double t = clock.Now;
            while (errorTimes.Count > 0 && errorTimes.Peek() <= t - 1.0) errorTimes.Dequeue();
            if (errorTimes.Count >= MaxErrorsPerSecond)
            {
                ErrorsSuppressed++;
                return;
            }
            errorTimes.Enqueue(t);
            ErrorsSent++;
            Send(error);
        }

        void OnFrame(byte[] frame, double t)
        {
            Received received;
            try
            {
                received = decoder.Decode(frame);
            }
            catch (ProtocolException exc)
            {
                if (State != LinkState.Refused) SendErrorLimited(exc.ToError());
                return;
            }
            if (received == null) return; // an unknown type from a newer console: counted, ignored
            var msg = received.Message;
            long id = received.Id;
            switch (msg.TypeName)
            {
                case Welcome.Type:
                    OnWelcome((Welcome)msg, t);
                    return;
                case Heartbeat.Type:
                    if (State == LinkState.Connected && peer.OnHeartbeat((Heartbeat)msg, t) && IsConsoleGone)
                        OnConsoleBack(t);
                    return;
                case MirrorAck.Type:
                    if (inFlight && ((MirrorAck)msg).Seq == inFlightSeq) inFlight = false;
                    return;
                case Bye.Type:
                    OnBye((Bye)msg, t);
                    return;
                case Error.Type:
                    var error = (Error)msg;
                    if (error.Code == ErrorCode.NotConnected)
                    {
                        // The console does not know us (it restarted): introduce ourselves again.
                        if (State == LinkState.Connected)
                        {
                            State = LinkState.Connecting;
                            SendHello(t);
                        }
                        return;
                    }
                    ErrorsFromConsole++;
                    break;
                case MirrorSettings.Type:
                    MirrorSettings = (MirrorSettings)msg;
                    break;
            }
            if (State != LinkState.Connected) return;
            var all = MessageReceived;
            if (all != null) Guard(() => all(msg, id));
            DispatchTyped(msg, id);
            if (msg is MakeSafe)
            {
                var make = (MakeSafe)msg;
                var safe = MakeSafeRequested;
                if (safe != null) Guard(() => safe(make.FadeS, make.Reason.Length > 0 ? make.Reason : "console asked", false));
            }
        }

        void OnWelcome(Welcome welcome, double t)
        {
            if (State == LinkState.Refused || State == LinkState.Closed) return;
            if (welcome.ProtocolMajor != ProtocolVersion.Major)
            {
                string text = "Console '" + welcome.ConsoleName + "' speaks protocol " + welcome.ProtocolMajor + "." +
                              welcome.ProtocolMinor + ", this headset app speaks " + ProtocolVersion.Text +
                              ": update the older of the two.";
                Send(new Bye { Reason = ByeReason.VersionMismatch, Text = ProtocolException.Clip(text, 1024) });
                State = LinkState.Refused;
                RaiseRefused(RefusalReason.VersionMismatch, text);
                return;
            }
            decoder.PeerMinor = (int)welcome.ProtocolMinor;
            bool resumed = hadSession;
            notAdmittedSaid = false; // the handshake went through: a later refusal is news again
            if (sessionId != null && sessionId != welcome.SessionId)
            {
                // Another console process: its clock may have another origin, so what we
                // knew of the old one is worthless.
                peer = new PeerClock(WatchdogTimeoutS);
            }
            // Every welcome: the console's next beat counts whatever its number (a console
            // that started over numbers from 0), so no number from before, even 2^53 - 1,
            // wedges the link.
            peer.RestartSequence();
            if (State != LinkState.Connected) nextBeatSeq = 0; // a new connection: we number from 0 again
            sessionId = welcome.SessionId;
            Welcome = welcome;
            HeartbeatIntervalS = welcome.HeartbeatIntervalMs / 1000.0;
            WatchdogTimeoutS = welcome.WatchdogTimeoutMs / 1000.0;
            peer.LateAfterS = WatchdogTimeoutS;
            peer.AddSample(welcome.EchoSentAt, welcome.EchoReceivedAt, welcome.SentAt, t);
            peer.LastCountedAt = t;
            State = LinkState.Connected;
            hadSession = true;
            nextBeat = t;
            inFlight = false;
            Send(new SceneCatalogue { Scenes = new List<SceneSpec>(scenes) });
            if (IsConsoleGone) OnConsoleBack(t);
            var connected = Connected;
            if (connected != null) Guard(() => connected(welcome, resumed));
        }

        void OnConsoleBack(double t)
        {
            IsConsoleGone = false;
            foreach (var report in pendingReports) Send(report);
            pendingReports.Clear();
            var back = ConsoleBack;
            if (back != null) Guard(() => back(t - goneAt));
        }

        static bool Stops(ByeReason reason)
        {
            switch (reason)
            {
                case ByeReason.VersionMismatch:
                case ByeReason.DuplicateName:
                case ByeReason.NotPaired:
                case ByeReason.Revoked:
                case ByeReason.Refused:
                    return true;
                default:
                    return false;
            }
        }

        void OnBye(Bye bye, double t)
        {
            if (State == LinkState.Refused) return;
            string reason = EnumWire.ToWire(bye.Reason);
            bool wasConnected = State == LinkState.Connected;
            if (Stops(bye.Reason))
            {
                // The scene goes calm first (a revoked headset may be mid-exposure), then the
                // engine hears why the link stopped.
                State = LinkState.Refused;
                if (wasConnected && !IsConsoleGone) Trip("the console refused us (" + reason + ": " + bye.Text + ")", null, t);
                RaiseRefused(reason, bye.Text);
                return;
            }
            State = LinkState.Connecting;
            // flooding: the console drops everything from us for 10 s, so hello waits as long.
            nextHello = t + (bye.Reason == ByeReason.Flooding ? FloodingBackoffS : HelloRetryS);
            if (wasConnected && !IsConsoleGone)
                Trip("the console said bye (" + reason + ": " + bye.Text + ")", null, t);
        }

        void SendMirrorFrame(double t)
        {
            if (State != LinkState.Connected || !MirrorSettings.Enabled) return;
            if (inFlight && t - inFlightSentAt < MirrorAckTimeoutS) return;
            MirrorFrame frame;
            lock (frameGate)
            {
                frame = offered;
                offered = null;
            }
            if (frame == null) return;
            Send(frame);
            inFlight = true;
            inFlightSeq = frame.Seq;
            inFlightSentAt = t;
            FramesSent++;
        }
    }
}
