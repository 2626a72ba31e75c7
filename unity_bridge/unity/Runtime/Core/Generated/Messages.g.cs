// Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
// Generator: protocol/codegen/csharp.py

using System;
using System.Collections.Generic;

namespace Vrclinic.Protocol
{
    /// <summary>The protocol this code speaks (vrclinic 1.1).</summary>
    public static class ProtocolVersion
    {
        public const string Name = "vrclinic";
        public const int Major = 1;
        public const int Minor = 1;
        public const string Text = "1.1";
    }

    /// <summary>Limits enforced before decoding allocates anything (SPEC.md, section 9).</summary>
    public static class Limits
    {
        public const int MaxFrameBytes = 4194304;
        public const int MaxControlFrameBytes = 1048576;
        public const int MaxJpegBytes = 4063232;
        public const int MaxDepth = 8;
        public const int MaxStrBytes = 4096;
        public const int MaxListLen = 1024;
        public const int MaxMapLen = 64;
    }

    /// <summary>Who may send a message.</summary>
    public enum Direction { ConsoleToEngine, EngineToConsole, Both }

    /// <summary>Why a peer ends (or refuses) the link; SPEC.md, "Handshake", says what an engine does on each.</summary>
    public enum ByeReason
    {
        Shutdown,
        VersionMismatch,
        DuplicateName,
        Refused,
        Restarting,
        NotPaired,
        Revoked,
        Flooding,
    }

    /// <summary>What was wrong with a message a peer sent.</summary>
    public enum ErrorCode
    {
        Malformed,
        TooLarge,
        TooDeep,
        UnknownType,
        WrongDirection,
        InvalidField,
        NotConnected,
        UnknownScene,
        UnknownParameter,
        OutOfRange,
        Busy,
        RateLimited,
        Unexpected,
        BadTime,
    }

    /// <summary>What the engine is showing.</summary>
    public enum SceneState
    {
        Loading,
        Running,
        Paused,
        Safe,
        Failed,
    }

    /// <summary>What a self-report prompt asks.</summary>
    public enum PromptKind
    {
        Suds,
        Expectancy,
        Outcome,
    }

    /// <summary>What kind of safety event an engine reports.</summary>
    public enum SafetyKind
    {
        Watchdog,
        MakeSafeDone,
        Overheating,
        BatteryLow,
        TrackingLost,
        PatientRequest,
        Other,
    }

    /// <summary>Enum values as they travel on the wire (their snake_case names).</summary>
    public static class EnumWire
    {
        public static readonly string[] ByeReasonValues = { "shutdown", "version_mismatch", "duplicate_name", "refused", "restarting", "not_paired", "revoked", "flooding" };

        public static string ToWire(ByeReason value)
        {
            switch (value)
            {
                case ByeReason.Shutdown: return "shutdown";
                case ByeReason.VersionMismatch: return "version_mismatch";
                case ByeReason.DuplicateName: return "duplicate_name";
                case ByeReason.Refused: return "refused";
                case ByeReason.Restarting: return "restarting";
                case ByeReason.NotPaired: return "not_paired";
                case ByeReason.Revoked: return "revoked";
                case ByeReason.Flooding: return "flooding";
                default: throw new ArgumentOutOfRangeException("value", value, "not a ByeReason");
            }
        }

        public static bool TryParse(string wire, out ByeReason value)
        {
            switch (wire)
            {
                case "shutdown": value = ByeReason.Shutdown; return true;
                case "version_mismatch": value = ByeReason.VersionMismatch; return true;
                case "duplicate_name": value = ByeReason.DuplicateName; return true;
                case "refused": value = ByeReason.Refused; return true;
                case "restarting": value = ByeReason.Restarting; return true;
                case "not_paired": value = ByeReason.NotPaired; return true;
                case "revoked": value = ByeReason.Revoked; return true;
                case "flooding": value = ByeReason.Flooding; return true;
                default: value = default(ByeReason); return false;
            }
        }

        public static readonly string[] ErrorCodeValues = { "malformed", "too_large", "too_deep", "unknown_type", "wrong_direction", "invalid_field", "not_connected", "unknown_scene", "unknown_parameter", "out_of_range", "busy", "rate_limited", "unexpected", "bad_time" };

        public static string ToWire(ErrorCode value)
        {
            switch (value)
            {
                case ErrorCode.Malformed: return "malformed";
                case ErrorCode.TooLarge: return "too_large";
                case ErrorCode.TooDeep: return "too_deep";
                case ErrorCode.UnknownType: return "unknown_type";
                case ErrorCode.WrongDirection: return "wrong_direction";
                case ErrorCode.InvalidField: return "invalid_field";
                case ErrorCode.NotConnected: return "not_connected";
                case ErrorCode.UnknownScene: return "unknown_scene";
                case ErrorCode.UnknownParameter: return "unknown_parameter";
                case ErrorCode.OutOfRange: return "out_of_range";
                case ErrorCode.Busy: return "busy";
                case ErrorCode.RateLimited: return "rate_limited";
                case ErrorCode.Unexpected: return "unexpected";
                case ErrorCode.BadTime: return "bad_time";
                default: throw new ArgumentOutOfRangeException("value", value, "not a ErrorCode");
            }
        }

        public static bool TryParse(string wire, out ErrorCode value)
        {
            switch (wire)
            {
                case "malformed": value = ErrorCode.Malformed; return true;
                case "too_large": value = ErrorCode.TooLarge; return true;
                case "too_deep": value = ErrorCode.TooDeep; return true;
                case "unknown_type": value = ErrorCode.UnknownType; return true;
                case "wrong_direction": value = ErrorCode.WrongDirection; return true;
                case "invalid_field": value = ErrorCode.InvalidField; return true;
                case "not_connected": value = ErrorCode.NotConnected; return true;
                case "unknown_scene": value = ErrorCode.UnknownScene; return true;
                case "unknown_parameter": value = ErrorCode.UnknownParameter; return true;
                case "out_of_range": value = ErrorCode.OutOfRange; return true;
                case "busy": value = ErrorCode.Busy; return true;
                case "rate_limited": value = ErrorCode.RateLimited; return true;
                case "unexpected": value = ErrorCode.Unexpected; return true;
                case "bad_time": value = ErrorCode.BadTime; return true;
                default: value = default(ErrorCode); return false;
            }
        }

        public static readonly string[] SceneStateValues = { "loading", "running", "paused", "safe", "failed" };

        public static string ToWire(SceneState value)
        {
            switch (value)
            {
                case SceneState.Loading: return "loading";
                case SceneState.Running: return "running";
                case SceneState.Paused: return "paused";
                case SceneState.Safe: return "safe";
                case SceneState.Failed: return "failed";
                default: throw new ArgumentOutOfRangeException("value", value, "not a SceneState");
            }
        }

        public static bool TryParse(string wire, out SceneState value)
        {
            switch (wire)
            {
                case "loading": value = SceneState.Loading; return true;
                case "running": value = SceneState.Running; return true;
                case "paused": value = SceneState.Paused; return true;
                case "safe": value = SceneState.Safe; return true;
                case "failed": value = SceneState.Failed; return true;
                default: value = default(SceneState); return false;
            }
        }

        public static readonly string[] PromptKindValues = { "suds", "expectancy", "outcome" };

        public static string ToWire(PromptKind value)
        {
            switch (value)
            {
                case PromptKind.Suds: return "suds";
                case PromptKind.Expectancy: return "expectancy";
                case PromptKind.Outcome: return "outcome";
                default: throw new ArgumentOutOfRangeException("value", value, "not a PromptKind");
            }
        }

        public static bool TryParse(string wire, out PromptKind value)
        {
            switch (wire)
            {
                case "suds": value = PromptKind.Suds; return true;
                case "expectancy": value = PromptKind.Expectancy; return true;
                case "outcome": value = PromptKind.Outcome; return true;
                default: value = default(PromptKind); return false;
            }
        }

        public static readonly string[] SafetyKindValues = { "watchdog", "make_safe_done", "overheating", "battery_low", "tracking_lost", "patient_request", "other" };

        public static string ToWire(SafetyKind value)
        {
            switch (value)
            {
                case SafetyKind.Watchdog: return "watchdog";
                case SafetyKind.MakeSafeDone: return "make_safe_done";
                case SafetyKind.Overheating: return "overheating";
                case SafetyKind.BatteryLow: return "battery_low";
                case SafetyKind.TrackingLost: return "tracking_lost";
                case SafetyKind.PatientRequest: return "patient_request";
                case SafetyKind.Other: return "other";
                default: throw new ArgumentOutOfRangeException("value", value, "not a SafetyKind");
            }
        }

        public static bool TryParse(string wire, out SafetyKind value)
        {
            switch (wire)
            {
                case "watchdog": value = SafetyKind.Watchdog; return true;
                case "make_safe_done": value = SafetyKind.MakeSafeDone; return true;
                case "overheating": value = SafetyKind.Overheating; return true;
                case "battery_low": value = SafetyKind.BatteryLow; return true;
                case "tracking_lost": value = SafetyKind.TrackingLost; return true;
                case "patient_request": value = SafetyKind.PatientRequest; return true;
                case "other": value = SafetyKind.Other; return true;
                default: value = default(SafetyKind); return false;
            }
        }
    }

    /// <summary>A stimulus parameter a scene offers; the console builds one control from it.</summary>
    public sealed class ParameterSpec
    {
        /// <summary>Identifier used in set_parameter, e.g. "distance".</summary>
        public string Name { get; set; } = "";
        /// <summary>What the therapist reads next to the control, e.g. "Spider distance".</summary>
        public string Label { get; set; } = "";
        /// <summary>Unit shown after the number, e.g. "m"; empty when unitless.</summary>
        public string Unit { get; set; } = "";
        /// <summary>Lowest value the engine accepts.</summary>
        public double Min { get; set; }
        /// <summary>Highest value the engine accepts.</summary>
        public double Max { get; set; }
        /// <summary>Smallest meaningful change; 0 means continuous.</summary>
        public double Step { get; set; }
        /// <summary>Value the scene starts with.</summary>
        public double Default { get; set; }
        /// <summary>True when a higher value is more frightening (false for e.g. distance).</summary>
        public bool IntensityIncreases { get; set; } = true;
    }

    /// <summary>A scene the engine can load, with the parameters it offers.</summary>
    public sealed class SceneSpec
    {
        /// <summary>Identifier used in load_scene, e.g. "spiders".</summary>
        public string Id { get; set; } = "";
        /// <summary>What the therapist reads in the scene picker.</summary>
        public string Label { get; set; } = "";
        /// <summary>A sentence on what the patient sees.</summary>
        public string Description { get; set; } = "";
        /// <summary>True for the calm scene that make_safe fades to.</summary>
        public bool Calm { get; set; } = false;
        /// <summary>The stimulus parameters of this scene.</summary>
        public List<ParameterSpec> Parameters { get; set; } = new List<ParameterSpec>();
    }

    /// <summary>A parameter's current value.</summary>
    public sealed class ParameterValue
    {
        /// <summary>Parameter name, as declared in the scene catalogue.</summary>
        public string Name { get; set; } = "";
        /// <summary>Value in the parameter's unit.</summary>
        public double Value { get; set; }
    }

    /// <summary>Base of every message: <see cref="TypeName"/> is the wire type.</summary>
    public abstract class ProtocolMessage
    {
        public abstract string TypeName { get; }
        public abstract Direction Direction { get; }

        public override string ToString() { return TypeName; }
    }

    /// <summary>First message of an engine client on every (re)connection: who it is and which protocol it speaks. (engine to console)</summary>
    public sealed class Hello : ProtocolMessage
    {
        public const string Type = "hello";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.EngineToConsole; } }

        /// <summary>The headset's name as its settings give it, e.g. "Room 2 Quest"; on the encrypted port only a proposal: the console shows the name its device list gives the headset's key.</summary>
        public string Name { get; set; } = "";
        /// <summary>Random token chosen when the engine app starts, the same for as long as it runs: the same token on a new connection is a reconnection of the same run, a different one a restarted app (the headset itself is its key).</summary>
        public string InstanceId { get; set; } = "";
        /// <summary>Protocol major version the engine speaks.</summary>
        public long ProtocolMajor { get; set; }
        /// <summary>Protocol minor version the engine speaks.</summary>
        public long ProtocolMinor { get; set; }
        /// <summary>Engine and version, e.g. "Unity 2022.3.20f1", "Godot 4.3", "vrclinic simulated headset".</summary>
        public string Engine { get; set; } = "";
        /// <summary>Version of the clinic's VR application.</summary>
        public string AppVersion { get; set; } = "";
        /// <summary>Headset model, e.g. "Meta Quest 3".</summary>
        public string Device { get; set; } = "";
        /// <summary>Engine clock when sent (monotonic seconds; any origin). [s]</summary>
        public double SentAt { get; set; }
        /// <summary>True when this app run was welcomed by this console before (a reconnection) and kept its state; false after a start.</summary>
        public bool Resumed { get; set; } = false;
    }

    /// <summary>The console accepts a hello. From now on both sides send heartbeats. (console to engine)</summary>
    public sealed class Welcome : ProtocolMessage
    {
        public const string Type = "welcome";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.ConsoleToEngine; } }

        /// <summary>Protocol major version the console speaks.</summary>
        public long ProtocolMajor { get; set; }
        /// <summary>Protocol minor version the console speaks.</summary>
        public long ProtocolMinor { get; set; }
        /// <summary>The console's name, shown in the headset's diagnostics.</summary>
        public string ConsoleName { get; set; } = "";
        /// <summary>The console's session identifier; the same across reconnections of one session.</summary>
        public string SessionId { get; set; } = "";
        /// <summary>How often each side sends a heartbeat; the link states follow from it (SPEC.md, "Link states"). [ms]</summary>
        public long HeartbeatIntervalMs { get; set; }
        /// <summary>How long without a counted console heartbeat before the engine makes the scene safe on its own; at least 3 × heartbeat_interval_ms (an engine given less uses 3 × heartbeat_interval_ms). The engine starts over with hello after 4 × this. [ms]</summary>
        public long WatchdogTimeoutMs { get; set; }
        /// <summary>Console clock when sent. [s]</summary>
        public double SentAt { get; set; }
        /// <summary>The hello's sent_at, echoed for a first clock estimate. [s]</summary>
        public double EchoSentAt { get; set; }
        /// <summary>Console clock when the hello arrived. [s]</summary>
        public double EchoReceivedAt { get; set; }
    }

    /// <summary>The sender ends the link (or refuses it); the text says why in words a technician understands. (both)</summary>
    public sealed class Bye : ProtocolMessage
    {
        public const string Type = "bye";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.Both; } }

        /// <summary>Why the link ends.</summary>
        public ByeReason Reason { get; set; }
        /// <summary>What happened and what to do, for a person.</summary>
        public string Text { get; set; } = "";
    }

    /// <summary>Sent every heartbeat_interval_ms by each side. Proves the sender's control loop is running and carries the timestamps for round-trip time and clock offset (NTP-style). (both)</summary>
    public sealed class Heartbeat : ProtocolMessage
    {
        public const string Type = "heartbeat";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.Both; } }

        /// <summary>Sender's heartbeat counter: 0 for its first beat after a handshake (when, exactly: SPEC.md section 5, Numbering), +1 per beat; a receiver ignores beats not newer than the last it counted since then.</summary>
        public long Seq { get; set; }
        /// <summary>Sender clock when this beat was sent (t3). [s]</summary>
        public double SentAt { get; set; }
        /// <summary>seq of the last beat received from the peer; -1 before the first.</summary>
        public long EchoSeq { get; set; } = -1L;
        /// <summary>That beat's sent_at, in the peer's clock (t1). [s]</summary>
        public double EchoSentAt { get; set; } = 0.0;
        /// <summary>Sender clock when that beat arrived (t2). [s]</summary>
        public double EchoReceivedAt { get; set; } = 0.0;
    }

    /// <summary>The sender could not accept a message the peer sent. The link stays up. (both)</summary>
    public sealed class Error : ProtocolMessage
    {
        public const string Type = "error";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.Both; } }

        /// <summary>Kind of problem (SPEC.md, "Errors and limits", says which for what).</summary>
        public ErrorCode Code { get; set; }
        /// <summary>The problem in words: message, field and what was wrong.</summary>
        public string Text { get; set; } = "";
        /// <summary>Type of the message this error refers to, when it could be read as text; "" otherwise.</summary>
        public string RefType { get; set; } = "";
        /// <summary>Envelope id of the message this error refers to; -1 when it could not be read as an integer of at least 0.</summary>
        public long RefId { get; set; } = -1L;
    }

    /// <summary>Sent to the console's pairing port (main port + 1, no encryption) to learn the console's public key before the first encrypted connection, and again (at most once a second) while the answer says pairing is not open. Nothing secret travels: both sides then show a pairing code made from both public keys, which a technician compares. (engine to console)</summary>
    public sealed class KeyRequest : ProtocolMessage
    {
        public const string Type = "key_request";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.EngineToConsole; } }

        /// <summary>The headset's name, proposed for the console's device list.</summary>
        public string Name { get; set; } = "";
        /// <summary>The headset's CURVE public key, Z85-encoded (exactly 40 characters); never the secret key.</summary>
        public string PublicKey { get; set; } = "";
    }

    /// <summary>The pairing port's answer to key_request: the console's public key to pin, and whether the console is accepting pairing requests now. (console to engine)</summary>
    public sealed class ConsoleKey : ProtocolMessage
    {
        public const string Type = "console_key";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.ConsoleToEngine; } }

        /// <summary>The console's CURVE public key, Z85-encoded (exactly 40 characters): use it as the CURVE server key, and keep it (pin it) once the console has welcomed the headset.</summary>
        public string PublicKey { get; set; } = "";
        /// <summary>The console's name, to show on the headset.</summary>
        public string ConsoleName { get; set; } = "";
        /// <summary>True while a technician has opened pairing on the console (Devices, Pair a headset); otherwise an unpaired key is refused at the encrypted port's handshake, and the engine asks again later.</summary>
        public bool PairingOpen { get; set; }
    }

    /// <summary>The scenes the engine offers and each scene's stimulus parameters; exactly one scene has calm = true. Sent after every welcome and whenever the offer changes. (engine to console)</summary>
    public sealed class SceneCatalogue : ProtocolMessage
    {
        public const string Type = "scene_catalogue";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.EngineToConsole; } }

        /// <summary>Every loadable scene, the calm scene included.</summary>
        public List<SceneSpec> Scenes { get; set; } = new List<SceneSpec>();
    }

    /// <summary>Load a scene, optionally with starting values for some of its parameters. (console to engine)</summary>
    public sealed class LoadScene : ProtocolMessage
    {
        public const string Type = "load_scene";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.ConsoleToEngine; } }

        /// <summary>A scene id from the catalogue.</summary>
        public string SceneId { get; set; } = "";
        /// <summary>Starting values; parameters not listed start at their default.</summary>
        public List<ParameterValue> Parameters { get; set; } = new List<ParameterValue>();
    }

    /// <summary>What the engine shows now, with every parameter's applied value. Sent after every welcome and at once on every change of scene or state (running: when the stimulus starts to show, i.e. at the start of a resume's fade). (engine to console)</summary>
    public sealed class SceneStatus : ProtocolMessage
    {
        public const string Type = "scene_status";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.EngineToConsole; } }

        /// <summary>The scene shown (or being loaded): an id from the catalogue; the calm scene's id in state safe.</summary>
        public string SceneId { get; set; } = "";
        /// <summary>loading, running, paused, safe (the calm scene after make_safe or the watchdog) or failed.</summary>
        public SceneState State { get; set; }
        /// <summary>Loading progress (1.0 in every state but loading).</summary>
        public double Progress { get; set; } = 1.0;
        /// <summary>Applied value of every parameter of the scene named (none for a calm scene without parameters).</summary>
        public List<ParameterValue> Parameters { get; set; } = new List<ParameterValue>();
        /// <summary>Why a load failed, or other detail for the therapist.</summary>
        public string Text { get; set; } = "";
    }

    /// <summary>Change one stimulus parameter of the current scene, at once or ramped. (console to engine)</summary>
    public sealed class SetParameter : ProtocolMessage
    {
        public const string Type = "set_parameter";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.ConsoleToEngine; } }

        /// <summary>Parameter name from the catalogue.</summary>
        public string Name { get; set; } = "";
        /// <summary>Target value, within the parameter's declared min..max.</summary>
        public double Value { get; set; }
        /// <summary>Reach the target linearly over this many seconds; 0 = at once. [s]</summary>
        public double RampS { get; set; } = 0.0;
    }

    /// <summary>The value the engine actually shows. Sent after every set_parameter, during ramps (at most 10 per second per parameter) and when a ramp ends. (engine to console)</summary>
    public sealed class ParameterApplied : ProtocolMessage
    {
        public const string Type = "parameter_applied";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.EngineToConsole; } }

        /// <summary>Parameter name.</summary>
        public string Name { get; set; } = "";
        /// <summary>Applied value now.</summary>
        public double Value { get; set; }
        /// <summary>Where a ramp is heading (equals value when not ramping).</summary>
        public double Target { get; set; }
        /// <summary>True while a ramp is under way.</summary>
        public bool Ramping { get; set; }
        /// <summary>Envelope id of the set_parameter this answers; -1 for ramp progress and engine-side changes.</summary>
        public long RefId { get; set; } = -1L;
        /// <summary>Engine clock when the value took effect. [s]</summary>
        public double AppliedAt { get; set; }
    }

    /// <summary>Fade to the calm scene now. Always obeyed, at once, in any state, even during loading (the load is abandoned). (console to engine)</summary>
    public sealed class MakeSafe : ProtocolMessage
    {
        public const string Type = "make_safe";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.ConsoleToEngine; } }

        /// <summary>Length of the fade. [s]</summary>
        public double FadeS { get; set; } = 1.0;
        /// <summary>Why, for the record, e.g. "therapist pressed make safe".</summary>
        public string Reason { get; set; } = "";
    }

    /// <summary>Freeze the stimulus where it is (animations and ramps stop). (console to engine)</summary>
    public sealed class Pause : ProtocolMessage
    {
        public const string Type = "pause";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.ConsoleToEngine; } }
    }

    /// <summary>Continue after pause; after make_safe (or the watchdog), bring back the scene and values shown before it, ramped over fade_s. In any other state it changes nothing. (console to engine)</summary>
    public sealed class Resume : ProtocolMessage
    {
        public const string Type = "resume";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.ConsoleToEngine; } }

        /// <summary>After make_safe: how long the way back takes. [s]</summary>
        public double FadeS { get; set; } = 3.0;
    }

    /// <summary>Show a rating prompt inside VR (SUDS 0-100, or expectancy/outcome 0-100 %). Each prompt gets exactly one prompt_answer. (console to engine)</summary>
    public sealed class Prompt : ProtocolMessage
    {
        public const string Type = "prompt";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.ConsoleToEngine; } }

        /// <summary>Console's number for this prompt; the answer carries it back.</summary>
        public long PromptId { get; set; }
        /// <summary>suds, expectancy (before a step) or outcome (after it).</summary>
        public PromptKind Kind { get; set; }
        /// <summary>The question as the patient reads it.</summary>
        public string Text { get; set; } = "";
        /// <summary>Lowest answer; the console keeps 0 &lt;= min &lt; max &lt;= 100.</summary>
        public long Min { get; set; } = 0L;
        /// <summary>Highest answer.</summary>
        public long Max { get; set; } = 100L;
        /// <summary>Hide the prompt after this long without an answer (then prompt_answer has answered = false); 0 = no time limit. [s]</summary>
        public double TimeoutS { get; set; } = 60.0;
    }

    /// <summary>The patient's answer to a prompt, or its expiry: exactly one per prompt received, never for a prompt_id the console did not send. (engine to console)</summary>
    public sealed class PromptAnswer : ProtocolMessage
    {
        public const string Type = "prompt_answer";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.EngineToConsole; } }

        /// <summary>prompt_id of the prompt answered.</summary>
        public long PromptId { get; set; }
        /// <summary>Kind of the prompt answered.</summary>
        public PromptKind Kind { get; set; }
        /// <summary>False when the prompt timed out or was dismissed.</summary>
        public bool Answered { get; set; }
        /// <summary>The rating, within the prompt's min..max when answered; 0 when not.</summary>
        public long Value { get; set; } = 0L;
        /// <summary>Engine clock when the prompt appeared. [s]</summary>
        public double ShownAt { get; set; }
        /// <summary>Engine clock when the patient answered (or it expired). [s]</summary>
        public double AnsweredAt { get; set; }
    }

    /// <summary>A point in time worth finding again: a therapist's marker, an engine event (spider touched the hand). (both)</summary>
    public sealed class Marker : ProtocolMessage
    {
        public const string Type = "marker";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.Both; } }

        /// <summary>Short name, e.g. "patient closed eyes".</summary>
        public string Label { get; set; } = "";
        /// <summary>Free text.</summary>
        public string Note { get; set; } = "";
        /// <summary>Sender clock at the moment marked. [s]</summary>
        public double At { get; set; }
    }

    /// <summary>Something safety-relevant happened on the headset; the console shows it prominently and records it. (engine to console)</summary>
    public sealed class SafetyEvent : ProtocolMessage
    {
        public const string Type = "safety_event";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.EngineToConsole; } }

        /// <summary>What happened.</summary>
        public SafetyKind Kind { get; set; }
        /// <summary>What happened, in words.</summary>
        public string Text { get; set; } = "";
        /// <summary>Engine clock when it happened. [s]</summary>
        public double At { get; set; }
    }

    /// <summary>Headset health and head pose, about twice a second. (engine to console)</summary>
    public sealed class Telemetry : ProtocolMessage
    {
        public const string Type = "telemetry";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.EngineToConsole; } }

        /// <summary>Engine clock when measured. [s]</summary>
        public double At { get; set; }
        /// <summary>Head position x, y, z in the tracking space (y up). [m]</summary>
        public List<double> HeadPosition { get; set; } = new List<double>();
        /// <summary>Head orientation as a unit quaternion x, y, z, w.</summary>
        public List<double> HeadRotation { get; set; } = new List<double>();
        /// <summary>Rendering frame rate achieved. [Hz]</summary>
        public double Fps { get; set; }
        /// <summary>Battery charge. [%]</summary>
        public double BatteryPct { get; set; } = 100.0;
        /// <summary>True while on the charger.</summary>
        public bool Charging { get; set; } = false;
        /// <summary>Device temperature; 0 when unknown. [°C]</summary>
        public double TemperatureC { get; set; } = 0.0;
    }

    /// <summary>How the engine should mirror the patient's view. The engine may send less (smaller, fewer) to protect its own frame rate, never more. (console to engine)</summary>
    public sealed class MirrorSettings : ProtocolMessage
    {
        public const string Type = "mirror_settings";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.ConsoleToEngine; } }

        /// <summary>Send mirror frames at all.</summary>
        public bool Enabled { get; set; }
        /// <summary>Most frames per second to send. [Hz]</summary>
        public double MaxFps { get; set; } = 15.0;
        /// <summary>Widest frame to send (height follows the aspect ratio). [px]</summary>
        public long MaxWidth { get; set; } = 640L;
        /// <summary>JPEG quality.</summary>
        public long Quality { get; set; } = 70L;
    }

    /// <summary>One JPEG of the patient's view, no wider than max_width and no more often than max_fps. At most one frame is unacknowledged at any time (see Mirror flow control). (engine to console)</summary>
    public sealed class MirrorFrame : ProtocolMessage
    {
        public const string Type = "mirror_frame";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.EngineToConsole; } }

        /// <summary>Frame counter, +1 per captured frame (gaps = frames the engine skipped).</summary>
        public long Seq { get; set; }
        /// <summary>Engine clock when the frame was rendered. [s]</summary>
        public double CapturedAt { get; set; }
        /// <summary>Image width. [px]</summary>
        public long Width { get; set; }
        /// <summary>Image height. [px]</summary>
        public long Height { get; set; }
        /// <summary>The image, baseline JPEG.</summary>
        public byte[] Jpeg { get; set; } = new byte[0];
    }

    /// <summary>The console received a mirror frame; the engine may send the next one. (console to engine)</summary>
    public sealed class MirrorAck : ProtocolMessage
    {
        public const string Type = "mirror_ack";
        public override string TypeName { get { return Type; } }
        public override Direction Direction { get { return Direction.ConsoleToEngine; } }

        /// <summary>seq of the frame received.</summary>
        public long Seq { get; set; }
        /// <summary>Console clock on arrival. [s]</summary>
        public double ReceivedAt { get; set; }
    }

}
