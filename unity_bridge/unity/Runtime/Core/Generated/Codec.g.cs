// Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
// Generator: protocol/codegen/csharp.py

using System;
using System.Collections.Generic;

namespace Vrclinic.Protocol
{
    /// <summary>Per-message field codecs; the envelope, limits and errors are in Codec.cs.</summary>
    public static partial class Codec
    {
        /// <summary>The declared direction of a message type; false for a type this version
        /// does not know.</summary>
        public static bool TryGetDirection(string type, out Direction direction)
        {
            switch (type)
            {
                case "hello": direction = Direction.EngineToConsole; return true;
                case "welcome": direction = Direction.ConsoleToEngine; return true;
                case "bye": direction = Direction.Both; return true;
                case "heartbeat": direction = Direction.Both; return true;
                case "error": direction = Direction.Both; return true;
                case "key_request": direction = Direction.EngineToConsole; return true;
                case "console_key": direction = Direction.ConsoleToEngine; return true;
                case "scene_catalogue": direction = Direction.EngineToConsole; return true;
                case "load_scene": direction = Direction.ConsoleToEngine; return true;
                case "scene_status": direction = Direction.EngineToConsole; return true;
                case "set_parameter": direction = Direction.ConsoleToEngine; return true;
                case "parameter_applied": direction = Direction.EngineToConsole; return true;
                case "make_safe": direction = Direction.ConsoleToEngine; return true;
                case "pause": direction = Direction.ConsoleToEngine; return true;
                case "resume": direction = Direction.ConsoleToEngine; return true;
                case "prompt": direction = Direction.ConsoleToEngine; return true;
                case "prompt_answer": direction = Direction.EngineToConsole; return true;
                case "marker": direction = Direction.Both; return true;
                case "safety_event": direction = Direction.EngineToConsole; return true;
                case "telemetry": direction = Direction.EngineToConsole; return true;
                case "mirror_settings": direction = Direction.ConsoleToEngine; return true;
                case "mirror_frame": direction = Direction.EngineToConsole; return true;
                case "mirror_ack": direction = Direction.ConsoleToEngine; return true;
                default: direction = Direction.Both; return false;
            }
        }

        /// <summary>Every message type of this protocol version, in declared order.</summary>
        public static readonly string[] MessageTypes = { "hello", "welcome", "bye", "heartbeat", "error", "key_request", "console_key", "scene_catalogue", "load_scene", "scene_status", "set_parameter", "parameter_applied", "make_safe", "pause", "resume", "prompt", "prompt_answer", "marker", "safety_event", "telemetry", "mirror_settings", "mirror_frame", "mirror_ack" };

        static ProtocolMessage DecodeBody(string type, MsgMap raw, DecodeContext ctx)
        {
            switch (type)
            {
                case "hello": return DecodeHello(raw, "", ctx);
                case "welcome": return DecodeWelcome(raw, "", ctx);
                case "bye": return DecodeBye(raw, "", ctx);
                case "heartbeat": return DecodeHeartbeat(raw, "", ctx);
                case "error": return DecodeError(raw, "", ctx);
                case "key_request": return DecodeKeyRequest(raw, "", ctx);
                case "console_key": return DecodeConsoleKey(raw, "", ctx);
                case "scene_catalogue": return DecodeSceneCatalogue(raw, "", ctx);
                case "load_scene": return DecodeLoadScene(raw, "", ctx);
                case "scene_status": return DecodeSceneStatus(raw, "", ctx);
                case "set_parameter": return DecodeSetParameter(raw, "", ctx);
                case "parameter_applied": return DecodeParameterApplied(raw, "", ctx);
                case "make_safe": return DecodeMakeSafe(raw, "", ctx);
                case "pause": return DecodePause(raw, "", ctx);
                case "resume": return DecodeResume(raw, "", ctx);
                case "prompt": return DecodePrompt(raw, "", ctx);
                case "prompt_answer": return DecodePromptAnswer(raw, "", ctx);
                case "marker": return DecodeMarker(raw, "", ctx);
                case "safety_event": return DecodeSafetyEvent(raw, "", ctx);
                case "telemetry": return DecodeTelemetry(raw, "", ctx);
                case "mirror_settings": return DecodeMirrorSettings(raw, "", ctx);
                case "mirror_frame": return DecodeMirrorFrame(raw, "", ctx);
                case "mirror_ack": return DecodeMirrorAck(raw, "", ctx);
                default: return null;
            }
        }

        static int FieldCount(ProtocolMessage message)
        {
            switch (message.TypeName)
            {
                case "hello": return 9;
                case "welcome": return 9;
                case "bye": return 2;
                case "heartbeat": return 5;
                case "error": return 4;
                case "key_request": return 2;
                case "console_key": return 3;
                case "scene_catalogue": return 1;
                case "load_scene": return 2;
                case "scene_status": return 5;
                case "set_parameter": return 3;
                case "parameter_applied": return 6;
                case "make_safe": return 2;
                case "pause": return 0;
                case "resume": return 1;
                case "prompt": return 6;
                case "prompt_answer": return 6;
                case "marker": return 3;
                case "safety_event": return 3;
                case "telemetry": return 7;
                case "mirror_settings": return 4;
                case "mirror_frame": return 5;
                case "mirror_ack": return 2;
                default:
                    throw new ProtocolException(ErrorCode.UnknownType, "not a message of this protocol");
            }
        }

        static void EncodeBody(MsgPackWriter w, ProtocolMessage message)
        {
            switch (message.TypeName)
            {
                case "hello": EncodeHello(w, (Hello)message, ""); return;
                case "welcome": EncodeWelcome(w, (Welcome)message, ""); return;
                case "bye": EncodeBye(w, (Bye)message, ""); return;
                case "heartbeat": EncodeHeartbeat(w, (Heartbeat)message, ""); return;
                case "error": EncodeError(w, (Error)message, ""); return;
                case "key_request": EncodeKeyRequest(w, (KeyRequest)message, ""); return;
                case "console_key": EncodeConsoleKey(w, (ConsoleKey)message, ""); return;
                case "scene_catalogue": EncodeSceneCatalogue(w, (SceneCatalogue)message, ""); return;
                case "load_scene": EncodeLoadScene(w, (LoadScene)message, ""); return;
                case "scene_status": EncodeSceneStatus(w, (SceneStatus)message, ""); return;
                case "set_parameter": EncodeSetParameter(w, (SetParameter)message, ""); return;
                case "parameter_applied": EncodeParameterApplied(w, (ParameterApplied)message, ""); return;
                case "make_safe": EncodeMakeSafe(w, (MakeSafe)message, ""); return;
                case "pause": EncodePause(w, (Pause)message, ""); return;
                case "resume": EncodeResume(w, (Resume)message, ""); return;
                case "prompt": EncodePrompt(w, (Prompt)message, ""); return;
                case "prompt_answer": EncodePromptAnswer(w, (PromptAnswer)message, ""); return;
                case "marker": EncodeMarker(w, (Marker)message, ""); return;
                case "safety_event": EncodeSafetyEvent(w, (SafetyEvent)message, ""); return;
                case "telemetry": EncodeTelemetry(w, (Telemetry)message, ""); return;
                case "mirror_settings": EncodeMirrorSettings(w, (MirrorSettings)message, ""); return;
                case "mirror_frame": EncodeMirrorFrame(w, (MirrorFrame)message, ""); return;
                case "mirror_ack": EncodeMirrorAck(w, (MirrorAck)message, ""); return;
                default:
                    throw new ProtocolException(ErrorCode.UnknownType, "not a message of this protocol");
            }
        }

        static readonly string[] KnownParameterSpec = { "name", "label", "unit", "min", "max", "step", "default", "intensity_increases" };

        static ParameterSpec DecodeParameterSpec(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new ParameterSpec();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("name", out v))
            {
                n++;
                m.Name = Fields.Str(v, prefix + "name", 64);
            }
            else throw Fields.Missing(prefix + "name");
            if (raw.TryGet("label", out v))
            {
                n++;
                m.Label = Fields.Str(v, prefix + "label", 128);
            }
            else throw Fields.Missing(prefix + "label");
            if (raw.TryGet("unit", out v))
            {
                n++;
                m.Unit = Fields.Str(v, prefix + "unit", 16);
            }
            else throw Fields.Missing(prefix + "unit");
            if (raw.TryGet("min", out v))
            {
                n++;
                var n1 = Fields.Float(v, prefix + "min");
                m.Min = n1;
            }
            else throw Fields.Missing(prefix + "min");
            if (raw.TryGet("max", out v))
            {
                n++;
                var n2 = Fields.Float(v, prefix + "max");
                m.Max = n2;
            }
            else throw Fields.Missing(prefix + "max");
            if (raw.TryGet("step", out v))
            {
                n++;
                var n3 = Fields.Float(v, prefix + "step");
                if (n3 < 0.0) throw Fields.BelowMin(prefix + "step", n3, "0.0");
                m.Step = n3;
            }
            else throw Fields.Missing(prefix + "step");
            if (raw.TryGet("default", out v))
            {
                n++;
                var n4 = Fields.Float(v, prefix + "default");
                m.Default = n4;
            }
            else throw Fields.Missing(prefix + "default");
            if (raw.TryGet("intensity_increases", out v))
            {
                n++;
                m.IntensityIncreases = Fields.Bool(v, prefix + "intensity_increases");
            }
            if (raw.Count > n + 0) Fields.ExtraFields(raw, KnownParameterSpec, prefix, ctx);
            return m;
        }

        static void EncodeParameterSpec(MsgPackWriter w, ParameterSpec m, string prefix)
        {
            w.WriteMapHeader(8);
            w.WriteString("name");
            w.WriteString(Fields.CheckStr(m.Name, prefix + "name", 64));
            w.WriteString("label");
            w.WriteString(Fields.CheckStr(m.Label, prefix + "label", 128));
            w.WriteString("unit");
            w.WriteString(Fields.CheckStr(m.Unit, prefix + "unit", 16));
            w.WriteString("min");
            Fields.CheckFinite(m.Min, prefix + "min");
            w.WriteFloat64(m.Min);
            w.WriteString("max");
            Fields.CheckFinite(m.Max, prefix + "max");
            w.WriteFloat64(m.Max);
            w.WriteString("step");
            Fields.CheckFinite(m.Step, prefix + "step");
            if (m.Step < 0.0) throw Fields.BelowMin(prefix + "step", m.Step, "0.0");
            w.WriteFloat64(m.Step);
            w.WriteString("default");
            Fields.CheckFinite(m.Default, prefix + "default");
            w.WriteFloat64(m.Default);
            w.WriteString("intensity_increases");
            w.WriteBool(m.IntensityIncreases);
        }

        static readonly string[] KnownSceneSpec = { "id", "label", "description", "calm", "parameters" };

        static SceneSpec DecodeSceneSpec(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new SceneSpec();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("id", out v))
            {
                n++;
                m.Id = Fields.Str(v, prefix + "id", 64);
            }
            else throw Fields.Missing(prefix + "id");
            if (raw.TryGet("label", out v))
            {
                n++;
                m.Label = Fields.Str(v, prefix + "label", 128);
            }
            else throw Fields.Missing(prefix + "label");
            if (raw.TryGet("description", out v))
            {
                n++;
                m.Description = Fields.Str(v, prefix + "description", 1024);
            }
            if (raw.TryGet("calm", out v))
            {
                n++;
                m.Calm = Fields.Bool(v, prefix + "calm");
            }
            if (raw.TryGet("parameters", out v))
            {
                n++;
                var items5 = Fields.List(v, prefix + "parameters", -1, 64);
                var list6 = new List<ParameterSpec>(items5.Count);
                for (int i7 = 0; i7 < items5.Count; i7++)
                {
                    ParameterSpec itemi7;
                    itemi7 = DecodeParameterSpec(Fields.Map(items5[i7], prefix + "parameters" + "[" + i7 + "]", "ParameterSpec"), prefix + "parameters" + "[" + i7 + "]" + ".", ctx);
                    list6.Add(itemi7);
                }
                m.Parameters = list6;
            }
            else throw Fields.Missing(prefix + "parameters");
            if (raw.Count > n + 0) Fields.ExtraFields(raw, KnownSceneSpec, prefix, ctx);
            return m;
        }

        static void EncodeSceneSpec(MsgPackWriter w, SceneSpec m, string prefix)
        {
            w.WriteMapHeader(5);
            w.WriteString("id");
            w.WriteString(Fields.CheckStr(m.Id, prefix + "id", 64));
            w.WriteString("label");
            w.WriteString(Fields.CheckStr(m.Label, prefix + "label", 128));
            w.WriteString("description");
            w.WriteString(Fields.CheckStr(m.Description, prefix + "description", 1024));
            w.WriteString("calm");
            w.WriteBool(m.Calm);
            w.WriteString("parameters");
            var list8 = Fields.CheckList(m.Parameters, prefix + "parameters", -1, 64);
            w.WriteArrayHeader(list8.Count);
            for (int i9 = 0; i9 < list8.Count; i9++)
            {
                EncodeParameterSpec(w, Fields.CheckNotNull(list8[i9], prefix + "parameters" + "[" + i9 + "]"), prefix + "parameters" + "[" + i9 + "]" + ".");
            }
        }

        static readonly string[] KnownParameterValue = { "name", "value" };

        static ParameterValue DecodeParameterValue(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new ParameterValue();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("name", out v))
            {
                n++;
                m.Name = Fields.Str(v, prefix + "name", 64);
            }
            else throw Fields.Missing(prefix + "name");
            if (raw.TryGet("value", out v))
            {
                n++;
                var n10 = Fields.Float(v, prefix + "value");
                m.Value = n10;
            }
            else throw Fields.Missing(prefix + "value");
            if (raw.Count > n + 0) Fields.ExtraFields(raw, KnownParameterValue, prefix, ctx);
            return m;
        }

        static void EncodeParameterValue(MsgPackWriter w, ParameterValue m, string prefix)
        {
            w.WriteMapHeader(2);
            w.WriteString("name");
            w.WriteString(Fields.CheckStr(m.Name, prefix + "name", 64));
            w.WriteString("value");
            Fields.CheckFinite(m.Value, prefix + "value");
            w.WriteFloat64(m.Value);
        }

        static readonly string[] KnownHello = { "name", "instance_id", "protocol_major", "protocol_minor", "engine", "app_version", "device", "sent_at", "resumed" };

        static Hello DecodeHello(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new Hello();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("name", out v))
            {
                n++;
                m.Name = Fields.Str(v, prefix + "name", 64);
            }
            else throw Fields.Missing(prefix + "name");
            if (raw.TryGet("instance_id", out v))
            {
                n++;
                m.InstanceId = Fields.Str(v, prefix + "instance_id", 64);
            }
            else throw Fields.Missing(prefix + "instance_id");
            if (raw.TryGet("protocol_major", out v))
            {
                n++;
                var n11 = Fields.Int(v, prefix + "protocol_major");
                if (n11 < 0L) throw Fields.BelowMin(prefix + "protocol_major", n11, "0");
                if (n11 > 65535L) throw Fields.AboveMax(prefix + "protocol_major", n11, "65535");
                m.ProtocolMajor = n11;
            }
            else throw Fields.Missing(prefix + "protocol_major");
            if (raw.TryGet("protocol_minor", out v))
            {
                n++;
                var n12 = Fields.Int(v, prefix + "protocol_minor");
                if (n12 < 0L) throw Fields.BelowMin(prefix + "protocol_minor", n12, "0");
                if (n12 > 65535L) throw Fields.AboveMax(prefix + "protocol_minor", n12, "65535");
                m.ProtocolMinor = n12;
            }
            else throw Fields.Missing(prefix + "protocol_minor");
            if (raw.TryGet("engine", out v))
            {
                n++;
                m.Engine = Fields.Str(v, prefix + "engine", 64);
            }
            else throw Fields.Missing(prefix + "engine");
            if (raw.TryGet("app_version", out v))
            {
                n++;
                m.AppVersion = Fields.Str(v, prefix + "app_version", 64);
            }
            else throw Fields.Missing(prefix + "app_version");
            if (raw.TryGet("device", out v))
            {
                n++;
                m.Device = Fields.Str(v, prefix + "device", 64);
            }
            if (raw.TryGet("sent_at", out v))
            {
                n++;
                var n13 = Fields.Float(v, prefix + "sent_at");
                m.SentAt = n13;
            }
            else throw Fields.Missing(prefix + "sent_at");
            if (raw.TryGet("resumed", out v))
            {
                n++;
                m.Resumed = Fields.Bool(v, prefix + "resumed");
            }
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownHello, prefix, ctx);
            return m;
        }

        static void EncodeHello(MsgPackWriter w, Hello m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("name");
            w.WriteString(Fields.CheckStr(m.Name, prefix + "name", 64));
            w.WriteString("instance_id");
            w.WriteString(Fields.CheckStr(m.InstanceId, prefix + "instance_id", 64));
            w.WriteString("protocol_major");
            if (m.ProtocolMajor < 0L) throw Fields.BelowMin(prefix + "protocol_major", m.ProtocolMajor, "0");
            if (m.ProtocolMajor > 65535L) throw Fields.AboveMax(prefix + "protocol_major", m.ProtocolMajor, "65535");
            w.WriteInt(m.ProtocolMajor);
            w.WriteString("protocol_minor");
            if (m.ProtocolMinor < 0L) throw Fields.BelowMin(prefix + "protocol_minor", m.ProtocolMinor, "0");
            if (m.ProtocolMinor > 65535L) throw Fields.AboveMax(prefix + "protocol_minor", m.ProtocolMinor, "65535");
            w.WriteInt(m.ProtocolMinor);
            w.WriteString("engine");
            w.WriteString(Fields.CheckStr(m.Engine, prefix + "engine", 64));
            w.WriteString("app_version");
            w.WriteString(Fields.CheckStr(m.AppVersion, prefix + "app_version", 64));
            w.WriteString("device");
            w.WriteString(Fields.CheckStr(m.Device, prefix + "device", 64));
            w.WriteString("sent_at");
            Fields.CheckFinite(m.SentAt, prefix + "sent_at");
            w.WriteFloat64(m.SentAt);
            w.WriteString("resumed");
            w.WriteBool(m.Resumed);
        }

        static readonly string[] KnownWelcome = { "protocol_major", "protocol_minor", "console_name", "session_id", "heartbeat_interval_ms", "watchdog_timeout_ms", "sent_at", "echo_sent_at", "echo_received_at" };

        static Welcome DecodeWelcome(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new Welcome();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("protocol_major", out v))
            {
                n++;
                var n14 = Fields.Int(v, prefix + "protocol_major");
                if (n14 < 0L) throw Fields.BelowMin(prefix + "protocol_major", n14, "0");
                if (n14 > 65535L) throw Fields.AboveMax(prefix + "protocol_major", n14, "65535");
                m.ProtocolMajor = n14;
            }
            else throw Fields.Missing(prefix + "protocol_major");
            if (raw.TryGet("protocol_minor", out v))
            {
                n++;
                var n15 = Fields.Int(v, prefix + "protocol_minor");
                if (n15 < 0L) throw Fields.BelowMin(prefix + "protocol_minor", n15, "0");
                if (n15 > 65535L) throw Fields.AboveMax(prefix + "protocol_minor", n15, "65535");
                m.ProtocolMinor = n15;
            }
            else throw Fields.Missing(prefix + "protocol_minor");
            if (raw.TryGet("console_name", out v))
            {
                n++;
                m.ConsoleName = Fields.Str(v, prefix + "console_name", 64);
            }
            else throw Fields.Missing(prefix + "console_name");
            if (raw.TryGet("session_id", out v))
            {
                n++;
                m.SessionId = Fields.Str(v, prefix + "session_id", 64);
            }
            else throw Fields.Missing(prefix + "session_id");
            if (raw.TryGet("heartbeat_interval_ms", out v))
            {
                n++;
                var n16 = Fields.Int(v, prefix + "heartbeat_interval_ms");
                if (n16 < 20L) throw Fields.BelowMin(prefix + "heartbeat_interval_ms", n16, "20");
                if (n16 > 1000L) throw Fields.AboveMax(prefix + "heartbeat_interval_ms", n16, "1000");
                m.HeartbeatIntervalMs = n16;
            }
            else throw Fields.Missing(prefix + "heartbeat_interval_ms");
            if (raw.TryGet("watchdog_timeout_ms", out v))
            {
                n++;
                var n17 = Fields.Int(v, prefix + "watchdog_timeout_ms");
                if (n17 < 100L) throw Fields.BelowMin(prefix + "watchdog_timeout_ms", n17, "100");
                if (n17 > 10000L) throw Fields.AboveMax(prefix + "watchdog_timeout_ms", n17, "10000");
                m.WatchdogTimeoutMs = n17;
            }
            else throw Fields.Missing(prefix + "watchdog_timeout_ms");
            if (raw.TryGet("sent_at", out v))
            {
                n++;
                var n18 = Fields.Float(v, prefix + "sent_at");
                m.SentAt = n18;
            }
            else throw Fields.Missing(prefix + "sent_at");
            if (raw.TryGet("echo_sent_at", out v))
            {
                n++;
                var n19 = Fields.Float(v, prefix + "echo_sent_at");
                m.EchoSentAt = n19;
            }
            else throw Fields.Missing(prefix + "echo_sent_at");
            if (raw.TryGet("echo_received_at", out v))
            {
                n++;
                var n20 = Fields.Float(v, prefix + "echo_received_at");
                m.EchoReceivedAt = n20;
            }
            else throw Fields.Missing(prefix + "echo_received_at");
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownWelcome, prefix, ctx);
            return m;
        }

        static void EncodeWelcome(MsgPackWriter w, Welcome m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("protocol_major");
            if (m.ProtocolMajor < 0L) throw Fields.BelowMin(prefix + "protocol_major", m.ProtocolMajor, "0");
            if (m.ProtocolMajor > 65535L) throw Fields.AboveMax(prefix + "protocol_major", m.ProtocolMajor, "65535");
            w.WriteInt(m.ProtocolMajor);
            w.WriteString("protocol_minor");
            if (m.ProtocolMinor < 0L) throw Fields.BelowMin(prefix + "protocol_minor", m.ProtocolMinor, "0");
            if (m.ProtocolMinor > 65535L) throw Fields.AboveMax(prefix + "protocol_minor", m.ProtocolMinor, "65535");
            w.WriteInt(m.ProtocolMinor);
            w.WriteString("console_name");
            w.WriteString(Fields.CheckStr(m.ConsoleName, prefix + "console_name", 64));
            w.WriteString("session_id");
            w.WriteString(Fields.CheckStr(m.SessionId, prefix + "session_id", 64));
            w.WriteString("heartbeat_interval_ms");
            if (m.HeartbeatIntervalMs < 20L) throw Fields.BelowMin(prefix + "heartbeat_interval_ms", m.HeartbeatIntervalMs, "20");
            if (m.HeartbeatIntervalMs > 1000L) throw Fields.AboveMax(prefix + "heartbeat_interval_ms", m.HeartbeatIntervalMs, "1000");
            w.WriteInt(m.HeartbeatIntervalMs);
            w.WriteString("watchdog_timeout_ms");
            if (m.WatchdogTimeoutMs < 100L) throw Fields.BelowMin(prefix + "watchdog_timeout_ms", m.WatchdogTimeoutMs, "100");
            if (m.WatchdogTimeoutMs > 10000L) throw Fields.AboveMax(prefix + "watchdog_timeout_ms", m.WatchdogTimeoutMs, "10000");
            w.WriteInt(m.WatchdogTimeoutMs);
            w.WriteString("sent_at");
            Fields.CheckFinite(m.SentAt, prefix + "sent_at");
            w.WriteFloat64(m.SentAt);
            w.WriteString("echo_sent_at");
            Fields.CheckFinite(m.EchoSentAt, prefix + "echo_sent_at");
            w.WriteFloat64(m.EchoSentAt);
            w.WriteString("echo_received_at");
            Fields.CheckFinite(m.EchoReceivedAt, prefix + "echo_received_at");
            w.WriteFloat64(m.EchoReceivedAt);
        }

        static readonly string[] KnownBye = { "reason", "text" };

        static Bye DecodeBye(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new Bye();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("reason", out v))
            {
                n++;
                ByeReason e21;
                if (v.Kind != MsgKind.Str || !EnumWire.TryParse(v.Str, out e21))
                    throw Fields.NotOneOf(v, prefix + "reason", EnumWire.ByeReasonValues);
                m.Reason = e21;
            }
            else throw Fields.Missing(prefix + "reason");
            if (raw.TryGet("text", out v))
            {
                n++;
                m.Text = Fields.Str(v, prefix + "text", 1024);
            }
            else throw Fields.Missing(prefix + "text");
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownBye, prefix, ctx);
            return m;
        }

        static void EncodeBye(MsgPackWriter w, Bye m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("reason");
            w.WriteString(EnumWire.ToWire(m.Reason));
            w.WriteString("text");
            w.WriteString(Fields.CheckStr(m.Text, prefix + "text", 1024));
        }

        static readonly string[] KnownHeartbeat = { "seq", "sent_at", "echo_seq", "echo_sent_at", "echo_received_at" };

        static Heartbeat DecodeHeartbeat(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new Heartbeat();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("seq", out v))
            {
                n++;
                var n22 = Fields.Int(v, prefix + "seq");
                if (n22 < 0L) throw Fields.BelowMin(prefix + "seq", n22, "0");
                if (n22 > 9007199254740991L) throw Fields.AboveMax(prefix + "seq", n22, "9007199254740991");
                m.Seq = n22;
            }
            else throw Fields.Missing(prefix + "seq");
            if (raw.TryGet("sent_at", out v))
            {
                n++;
                var n23 = Fields.Float(v, prefix + "sent_at");
                m.SentAt = n23;
            }
            else throw Fields.Missing(prefix + "sent_at");
            if (raw.TryGet("echo_seq", out v))
            {
                n++;
                var n24 = Fields.Int(v, prefix + "echo_seq");
                if (n24 < -1L) throw Fields.BelowMin(prefix + "echo_seq", n24, "-1");
                m.EchoSeq = n24;
            }
            if (raw.TryGet("echo_sent_at", out v))
            {
                n++;
                var n25 = Fields.Float(v, prefix + "echo_sent_at");
                m.EchoSentAt = n25;
            }
            if (raw.TryGet("echo_received_at", out v))
            {
                n++;
                var n26 = Fields.Float(v, prefix + "echo_received_at");
                m.EchoReceivedAt = n26;
            }
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownHeartbeat, prefix, ctx);
            return m;
        }

        static void EncodeHeartbeat(MsgPackWriter w, Heartbeat m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("seq");
            if (m.Seq < 0L) throw Fields.BelowMin(prefix + "seq", m.Seq, "0");
            if (m.Seq > 9007199254740991L) throw Fields.AboveMax(prefix + "seq", m.Seq, "9007199254740991");
            w.WriteInt(m.Seq);
            w.WriteString("sent_at");
            Fields.CheckFinite(m.SentAt, prefix + "sent_at");
            w.WriteFloat64(m.SentAt);
            w.WriteString("echo_seq");
            if (m.EchoSeq < -1L) throw Fields.BelowMin(prefix + "echo_seq", m.EchoSeq, "-1");
            w.WriteInt(m.EchoSeq);
            w.WriteString("echo_sent_at");
            Fields.CheckFinite(m.EchoSentAt, prefix + "echo_sent_at");
            w.WriteFloat64(m.EchoSentAt);
            w.WriteString("echo_received_at");
            Fields.CheckFinite(m.EchoReceivedAt, prefix + "echo_received_at");
            w.WriteFloat64(m.EchoReceivedAt);
        }

        static readonly string[] KnownError = { "code", "text", "ref_type", "ref_id" };

        static Error DecodeError(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new Error();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("code", out v))
            {
                n++;
                ErrorCode e27;
                if (v.Kind != MsgKind.Str || !EnumWire.TryParse(v.Str, out e27))
                    throw Fields.NotOneOf(v, prefix + "code", EnumWire.ErrorCodeValues);
                m.Code = e27;
            }
            else throw Fields.Missing(prefix + "code");
            if (raw.TryGet("text", out v))
            {
                n++;
                m.Text = Fields.Str(v, prefix + "text", 1024);
            }
            else throw Fields.Missing(prefix + "text");
            if (raw.TryGet("ref_type", out v))
            {
                n++;
                m.RefType = Fields.Str(v, prefix + "ref_type", 64);
            }
            if (raw.TryGet("ref_id", out v))
            {
                n++;
                var n28 = Fields.Int(v, prefix + "ref_id");
                if (n28 < -1L) throw Fields.BelowMin(prefix + "ref_id", n28, "-1");
                m.RefId = n28;
            }
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownError, prefix, ctx);
            return m;
        }

        static void EncodeError(MsgPackWriter w, Error m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("code");
            w.WriteString(EnumWire.ToWire(m.Code));
            w.WriteString("text");
            w.WriteString(Fields.CheckStr(m.Text, prefix + "text", 1024));
            w.WriteString("ref_type");
            w.WriteString(Fields.CheckStr(m.RefType, prefix + "ref_type", 64));
            w.WriteString("ref_id");
            if (m.RefId < -1L) throw Fields.BelowMin(prefix + "ref_id", m.RefId, "-1");
            w.WriteInt(m.RefId);
        }

        static readonly string[] KnownKeyRequest = { "name", "public_key" };

        static KeyRequest DecodeKeyRequest(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new KeyRequest();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("name", out v))
            {
                n++;
                m.Name = Fields.Str(v, prefix + "name", 64);
            }
            else throw Fields.Missing(prefix + "name");
            if (raw.TryGet("public_key", out v))
            {
                n++;
                m.PublicKey = Fields.Str(v, prefix + "public_key", 40);
            }
            else throw Fields.Missing(prefix + "public_key");
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownKeyRequest, prefix, ctx);
            return m;
        }

        static void EncodeKeyRequest(MsgPackWriter w, KeyRequest m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("name");
            w.WriteString(Fields.CheckStr(m.Name, prefix + "name", 64));
            w.WriteString("public_key");
            w.WriteString(Fields.CheckStr(m.PublicKey, prefix + "public_key", 40));
        }

        static readonly string[] KnownConsoleKey = { "public_key", "console_name", "pairing_open" };

        static ConsoleKey DecodeConsoleKey(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new ConsoleKey();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("public_key", out v))
            {
                n++;
                m.PublicKey = Fields.Str(v, prefix + "public_key", 40);
            }
            else throw Fields.Missing(prefix + "public_key");
            if (raw.TryGet("console_name", out v))
            {
                n++;
                m.ConsoleName = Fields.Str(v, prefix + "console_name", 64);
            }
            else throw Fields.Missing(prefix + "console_name");
            if (raw.TryGet("pairing_open", out v))
            {
                n++;
                m.PairingOpen = Fields.Bool(v, prefix + "pairing_open");
            }
            else throw Fields.Missing(prefix + "pairing_open");
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownConsoleKey, prefix, ctx);
            return m;
        }

        static void EncodeConsoleKey(MsgPackWriter w, ConsoleKey m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("public_key");
            w.WriteString(Fields.CheckStr(m.PublicKey, prefix + "public_key", 40));
            w.WriteString("console_name");
            w.WriteString(Fields.CheckStr(m.ConsoleName, prefix + "console_name", 64));
            w.WriteString("pairing_open");
            w.WriteBool(m.PairingOpen);
        }

        static readonly string[] KnownSceneCatalogue = { "scenes" };

        static SceneCatalogue DecodeSceneCatalogue(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new SceneCatalogue();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("scenes", out v))
            {
                n++;
                var items29 = Fields.List(v, prefix + "scenes", -1, 64);
                var list30 = new List<SceneSpec>(items29.Count);
                for (int i31 = 0; i31 < items29.Count; i31++)
                {
                    SceneSpec itemi31;
                    itemi31 = DecodeSceneSpec(Fields.Map(items29[i31], prefix + "scenes" + "[" + i31 + "]", "SceneSpec"), prefix + "scenes" + "[" + i31 + "]" + ".", ctx);
                    list30.Add(itemi31);
                }
                m.Scenes = list30;
            }
            else throw Fields.Missing(prefix + "scenes");
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownSceneCatalogue, prefix, ctx);
            return m;
        }

        static void EncodeSceneCatalogue(MsgPackWriter w, SceneCatalogue m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("scenes");
            var list32 = Fields.CheckList(m.Scenes, prefix + "scenes", -1, 64);
            w.WriteArrayHeader(list32.Count);
            for (int i33 = 0; i33 < list32.Count; i33++)
            {
                EncodeSceneSpec(w, Fields.CheckNotNull(list32[i33], prefix + "scenes" + "[" + i33 + "]"), prefix + "scenes" + "[" + i33 + "]" + ".");
            }
        }

        static readonly string[] KnownLoadScene = { "scene_id", "parameters" };

        static LoadScene DecodeLoadScene(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new LoadScene();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("scene_id", out v))
            {
                n++;
                m.SceneId = Fields.Str(v, prefix + "scene_id", 64);
            }
            else throw Fields.Missing(prefix + "scene_id");
            if (raw.TryGet("parameters", out v))
            {
                n++;
                var items34 = Fields.List(v, prefix + "parameters", -1, 64);
                var list35 = new List<ParameterValue>(items34.Count);
                for (int i36 = 0; i36 < items34.Count; i36++)
                {
                    ParameterValue itemi36;
                    itemi36 = DecodeParameterValue(Fields.Map(items34[i36], prefix + "parameters" + "[" + i36 + "]", "ParameterValue"), prefix + "parameters" + "[" + i36 + "]" + ".", ctx);
                    list35.Add(itemi36);
                }
                m.Parameters = list35;
            }
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownLoadScene, prefix, ctx);
            return m;
        }

        static void EncodeLoadScene(MsgPackWriter w, LoadScene m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("scene_id");
            w.WriteString(Fields.CheckStr(m.SceneId, prefix + "scene_id", 64));
            w.WriteString("parameters");
            var list37 = Fields.CheckList(m.Parameters, prefix + "parameters", -1, 64);
            w.WriteArrayHeader(list37.Count);
            for (int i38 = 0; i38 < list37.Count; i38++)
            {
                EncodeParameterValue(w, Fields.CheckNotNull(list37[i38], prefix + "parameters" + "[" + i38 + "]"), prefix + "parameters" + "[" + i38 + "]" + ".");
            }
        }

        static readonly string[] KnownSceneStatus = { "scene_id", "state", "progress", "parameters", "text" };

        static SceneStatus DecodeSceneStatus(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new SceneStatus();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("scene_id", out v))
            {
                n++;
                m.SceneId = Fields.Str(v, prefix + "scene_id", 64);
            }
            else throw Fields.Missing(prefix + "scene_id");
            if (raw.TryGet("state", out v))
            {
                n++;
                SceneState e39;
                if (v.Kind != MsgKind.Str || !EnumWire.TryParse(v.Str, out e39))
                    throw Fields.NotOneOf(v, prefix + "state", EnumWire.SceneStateValues);
                m.State = e39;
            }
            else throw Fields.Missing(prefix + "state");
            if (raw.TryGet("progress", out v))
            {
                n++;
                var n40 = Fields.Float(v, prefix + "progress");
                if (n40 < 0.0) throw Fields.BelowMin(prefix + "progress", n40, "0.0");
                if (n40 > 1.0) throw Fields.AboveMax(prefix + "progress", n40, "1.0");
                m.Progress = n40;
            }
            if (raw.TryGet("parameters", out v))
            {
                n++;
                var items41 = Fields.List(v, prefix + "parameters", -1, 64);
                var list42 = new List<ParameterValue>(items41.Count);
                for (int i43 = 0; i43 < items41.Count; i43++)
                {
                    ParameterValue itemi43;
                    itemi43 = DecodeParameterValue(Fields.Map(items41[i43], prefix + "parameters" + "[" + i43 + "]", "ParameterValue"), prefix + "parameters" + "[" + i43 + "]" + ".", ctx);
                    list42.Add(itemi43);
                }
                m.Parameters = list42;
            }
            if (raw.TryGet("text", out v))
            {
                n++;
                m.Text = Fields.Str(v, prefix + "text", 1024);
            }
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownSceneStatus, prefix, ctx);
            return m;
        }

        static void EncodeSceneStatus(MsgPackWriter w, SceneStatus m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("scene_id");
            w.WriteString(Fields.CheckStr(m.SceneId, prefix + "scene_id", 64));
            w.WriteString("state");
            w.WriteString(EnumWire.ToWire(m.State));
            w.WriteString("progress");
            Fields.CheckFinite(m.Progress, prefix + "progress");
            if (m.Progress < 0.0) throw Fields.BelowMin(prefix + "progress", m.Progress, "0.0");
            if (m.Progress > 1.0) throw Fields.AboveMax(prefix + "progress", m.Progress, "1.0");
            w.WriteFloat64(m.Progress);
            w.WriteString("parameters");
            var list44 = Fields.CheckList(m.Parameters, prefix + "parameters", -1, 64);
            w.WriteArrayHeader(list44.Count);
            for (int i45 = 0; i45 < list44.Count; i45++)
            {
                EncodeParameterValue(w, Fields.CheckNotNull(list44[i45], prefix + "parameters" + "[" + i45 + "]"), prefix + "parameters" + "[" + i45 + "]" + ".");
            }
            w.WriteString("text");
            w.WriteString(Fields.CheckStr(m.Text, prefix + "text", 1024));
        }

        static readonly string[] KnownSetParameter = { "name", "value", "ramp_s" };

        static SetParameter DecodeSetParameter(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new SetParameter();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("name", out v))
            {
                n++;
                m.Name = Fields.Str(v, prefix + "name", 64);
            }
            else throw Fields.Missing(prefix + "name");
            if (raw.TryGet("value", out v))
            {
                n++;
                var n46 = Fields.Float(v, prefix + "value");
                m.Value = n46;
            }
            else throw Fields.Missing(prefix + "value");
            if (raw.TryGet("ramp_s", out v))
            {
                n++;
                var n47 = Fields.Float(v, prefix + "ramp_s");
                if (n47 < 0.0) throw Fields.BelowMin(prefix + "ramp_s", n47, "0.0");
                if (n47 > 600.0) throw Fields.AboveMax(prefix + "ramp_s", n47, "600.0");
                m.RampS = n47;
            }
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownSetParameter, prefix, ctx);
            return m;
        }

        static void EncodeSetParameter(MsgPackWriter w, SetParameter m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("name");
            w.WriteString(Fields.CheckStr(m.Name, prefix + "name", 64));
            w.WriteString("value");
            Fields.CheckFinite(m.Value, prefix + "value");
            w.WriteFloat64(m.Value);
            w.WriteString("ramp_s");
            Fields.CheckFinite(m.RampS, prefix + "ramp_s");
            if (m.RampS < 0.0) throw Fields.BelowMin(prefix + "ramp_s", m.RampS, "0.0");
            if (m.RampS > 600.0) throw Fields.AboveMax(prefix + "ramp_s", m.RampS, "600.0");
            w.WriteFloat64(m.RampS);
        }

        static readonly string[] KnownParameterApplied = { "name", "value", "target", "ramping", "ref_id", "applied_at" };

        static ParameterApplied DecodeParameterApplied(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new ParameterApplied();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("name", out v))
            {
                n++;
                m.Name = Fields.Str(v, prefix + "name", 64);
            }
            else throw Fields.Missing(prefix + "name");
            if (raw.TryGet("value", out v))
            {
                n++;
                var n48 = Fields.Float(v, prefix + "value");
                m.Value = n48;
            }
            else throw Fields.Missing(prefix + "value");
            if (raw.TryGet("target", out v))
            {
                n++;
                var n49 = Fields.Float(v, prefix + "target");
                m.Target = n49;
            }
            else throw Fields.Missing(prefix + "target");
            if (raw.TryGet("ramping", out v))
            {
                n++;
                m.Ramping = Fields.Bool(v, prefix + "ramping");
            }
            else throw Fields.Missing(prefix + "ramping");
            if (raw.TryGet("ref_id", out v))
            {
                n++;
                var n50 = Fields.Int(v, prefix + "ref_id");
                if (n50 < -1L) throw Fields.BelowMin(prefix + "ref_id", n50, "-1");
                m.RefId = n50;
            }
            if (raw.TryGet("applied_at", out v))
            {
                n++;
                var n51 = Fields.Float(v, prefix + "applied_at");
                m.AppliedAt = n51;
            }
            else throw Fields.Missing(prefix + "applied_at");
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownParameterApplied, prefix, ctx);
            return m;
        }

        static void EncodeParameterApplied(MsgPackWriter w, ParameterApplied m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("name");
            w.WriteString(Fields.CheckStr(m.Name, prefix + "name", 64));
            w.WriteString("value");
            Fields.CheckFinite(m.Value, prefix + "value");
            w.WriteFloat64(m.Value);
            w.WriteString("target");
            Fields.CheckFinite(m.Target, prefix + "target");
            w.WriteFloat64(m.Target);
            w.WriteString("ramping");
            w.WriteBool(m.Ramping);
            w.WriteString("ref_id");
            if (m.RefId < -1L) throw Fields.BelowMin(prefix + "ref_id", m.RefId, "-1");
            w.WriteInt(m.RefId);
            w.WriteString("applied_at");
            Fields.CheckFinite(m.AppliedAt, prefix + "applied_at");
            w.WriteFloat64(m.AppliedAt);
        }

        static readonly string[] KnownMakeSafe = { "fade_s", "reason" };

        static MakeSafe DecodeMakeSafe(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new MakeSafe();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("fade_s", out v))
            {
                n++;
                var n52 = Fields.Float(v, prefix + "fade_s");
                if (n52 < 0.0) throw Fields.BelowMin(prefix + "fade_s", n52, "0.0");
                if (n52 > 10.0) throw Fields.AboveMax(prefix + "fade_s", n52, "10.0");
                m.FadeS = n52;
            }
            if (raw.TryGet("reason", out v))
            {
                n++;
                m.Reason = Fields.Str(v, prefix + "reason", 256);
            }
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownMakeSafe, prefix, ctx);
            return m;
        }

        static void EncodeMakeSafe(MsgPackWriter w, MakeSafe m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("fade_s");
            Fields.CheckFinite(m.FadeS, prefix + "fade_s");
            if (m.FadeS < 0.0) throw Fields.BelowMin(prefix + "fade_s", m.FadeS, "0.0");
            if (m.FadeS > 10.0) throw Fields.AboveMax(prefix + "fade_s", m.FadeS, "10.0");
            w.WriteFloat64(m.FadeS);
            w.WriteString("reason");
            w.WriteString(Fields.CheckStr(m.Reason, prefix + "reason", 256));
        }

        static readonly string[] KnownPause = {  };

        static Pause DecodePause(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new Pause();
            if (raw.Count > 0 + 2) Fields.ExtraFields(raw, KnownPause, prefix, ctx);
            return m;
        }

        static void EncodePause(MsgPackWriter w, Pause m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
        }

        static readonly string[] KnownResume = { "fade_s" };

        static Resume DecodeResume(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new Resume();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("fade_s", out v))
            {
                n++;
                var n53 = Fields.Float(v, prefix + "fade_s");
                if (n53 < 0.0) throw Fields.BelowMin(prefix + "fade_s", n53, "0.0");
                if (n53 > 30.0) throw Fields.AboveMax(prefix + "fade_s", n53, "30.0");
                m.FadeS = n53;
            }
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownResume, prefix, ctx);
            return m;
        }

        static void EncodeResume(MsgPackWriter w, Resume m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("fade_s");
            Fields.CheckFinite(m.FadeS, prefix + "fade_s");
            if (m.FadeS < 0.0) throw Fields.BelowMin(prefix + "fade_s", m.FadeS, "0.0");
            if (m.FadeS > 30.0) throw Fields.AboveMax(prefix + "fade_s", m.FadeS, "30.0");
            w.WriteFloat64(m.FadeS);
        }

        static readonly string[] KnownPrompt = { "prompt_id", "kind", "text", "min", "max", "timeout_s" };

        static Prompt DecodePrompt(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new Prompt();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("prompt_id", out v))
            {
                n++;
                var n54 = Fields.Int(v, prefix + "prompt_id");
                if (n54 < 0L) throw Fields.BelowMin(prefix + "prompt_id", n54, "0");
                m.PromptId = n54;
            }
            else throw Fields.Missing(prefix + "prompt_id");
            if (raw.TryGet("kind", out v))
            {
                n++;
                PromptKind e55;
                if (v.Kind != MsgKind.Str || !EnumWire.TryParse(v.Str, out e55))
                    throw Fields.NotOneOf(v, prefix + "kind", EnumWire.PromptKindValues);
                m.Kind = e55;
            }
            else throw Fields.Missing(prefix + "kind");
            if (raw.TryGet("text", out v))
            {
                n++;
                m.Text = Fields.Str(v, prefix + "text", 512);
            }
            else throw Fields.Missing(prefix + "text");
            if (raw.TryGet("min", out v))
            {
                n++;
                var n56 = Fields.Int(v, prefix + "min");
                m.Min = n56;
            }
            if (raw.TryGet("max", out v))
            {
                n++;
                var n57 = Fields.Int(v, prefix + "max");
                m.Max = n57;
            }
            if (raw.TryGet("timeout_s", out v))
            {
                n++;
                var n58 = Fields.Float(v, prefix + "timeout_s");
                if (n58 < 0.0) throw Fields.BelowMin(prefix + "timeout_s", n58, "0.0");
                if (n58 > 600.0) throw Fields.AboveMax(prefix + "timeout_s", n58, "600.0");
                m.TimeoutS = n58;
            }
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownPrompt, prefix, ctx);
            return m;
        }

        static void EncodePrompt(MsgPackWriter w, Prompt m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("prompt_id");
            if (m.PromptId < 0L) throw Fields.BelowMin(prefix + "prompt_id", m.PromptId, "0");
            w.WriteInt(m.PromptId);
            w.WriteString("kind");
            w.WriteString(EnumWire.ToWire(m.Kind));
            w.WriteString("text");
            w.WriteString(Fields.CheckStr(m.Text, prefix + "text", 512));
            w.WriteString("min");
            w.WriteInt(m.Min);
            w.WriteString("max");
            w.WriteInt(m.Max);
            w.WriteString("timeout_s");
            Fields.CheckFinite(m.TimeoutS, prefix + "timeout_s");
            if (m.TimeoutS < 0.0) throw Fields.BelowMin(prefix + "timeout_s", m.TimeoutS, "0.0");
            if (m.TimeoutS > 600.0) throw Fields.AboveMax(prefix + "timeout_s", m.TimeoutS, "600.0");
            w.WriteFloat64(m.TimeoutS);
        }

        static readonly string[] KnownPromptAnswer = { "prompt_id", "kind", "answered", "value", "shown_at", "answered_at" };

        static PromptAnswer DecodePromptAnswer(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new PromptAnswer();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("prompt_id", out v))
            {
                n++;
                var n59 = Fields.Int(v, prefix + "prompt_id");
                if (n59 < 0L) throw Fields.BelowMin(prefix + "prompt_id", n59, "0");
                m.PromptId = n59;
            }
            else throw Fields.Missing(prefix + "prompt_id");
            if (raw.TryGet("kind", out v))
            {
                n++;
                PromptKind e60;
                if (v.Kind != MsgKind.Str || !EnumWire.TryParse(v.Str, out e60))
                    throw Fields.NotOneOf(v, prefix + "kind", EnumWire.PromptKindValues);
                m.Kind = e60;
            }
            else throw Fields.Missing(prefix + "kind");
            if (raw.TryGet("answered", out v))
            {
                n++;
                m.Answered = Fields.Bool(v, prefix + "answered");
            }
            else throw Fields.Missing(prefix + "answered");
            if (raw.TryGet("value", out v))
            {
                n++;
                var n61 = Fields.Int(v, prefix + "value");
                if (n61 < 0L) throw Fields.BelowMin(prefix + "value", n61, "0");
                if (n61 > 100L) throw Fields.AboveMax(prefix + "value", n61, "100");
                m.Value = n61;
            }
            if (raw.TryGet("shown_at", out v))
            {
                n++;
                var n62 = Fields.Float(v, prefix + "shown_at");
                m.ShownAt = n62;
            }
            else throw Fields.Missing(prefix + "shown_at");
            if (raw.TryGet("answered_at", out v))
            {
                n++;
                var n63 = Fields.Float(v, prefix + "answered_at");
                m.AnsweredAt = n63;
            }
            else throw Fields.Missing(prefix + "answered_at");
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownPromptAnswer, prefix, ctx);
            return m;
        }

        static void EncodePromptAnswer(MsgPackWriter w, PromptAnswer m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("prompt_id");
            if (m.PromptId < 0L) throw Fields.BelowMin(prefix + "prompt_id", m.PromptId, "0");
            w.WriteInt(m.PromptId);
            w.WriteString("kind");
            w.WriteString(EnumWire.ToWire(m.Kind));
            w.WriteString("answered");
            w.WriteBool(m.Answered);
            w.WriteString("value");
            if (m.Value < 0L) throw Fields.BelowMin(prefix + "value", m.Value, "0");
            if (m.Value > 100L) throw Fields.AboveMax(prefix + "value", m.Value, "100");
            w.WriteInt(m.Value);
            w.WriteString("shown_at");
            Fields.CheckFinite(m.ShownAt, prefix + "shown_at");
            w.WriteFloat64(m.ShownAt);
            w.WriteString("answered_at");
            Fields.CheckFinite(m.AnsweredAt, prefix + "answered_at");
            w.WriteFloat64(m.AnsweredAt);
        }

        static readonly string[] KnownMarker = { "label", "note", "at" };

        static Marker DecodeMarker(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new Marker();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("label", out v))
            {
                n++;
                m.Label = Fields.Str(v, prefix + "label", 128);
            }
            else throw Fields.Missing(prefix + "label");
            if (raw.TryGet("note", out v))
            {
                n++;
                m.Note = Fields.Str(v, prefix + "note", 1024);
            }
            if (raw.TryGet("at", out v))
            {
                n++;
                var n64 = Fields.Float(v, prefix + "at");
                m.At = n64;
            }
            else throw Fields.Missing(prefix + "at");
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownMarker, prefix, ctx);
            return m;
        }

        static void EncodeMarker(MsgPackWriter w, Marker m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("label");
            w.WriteString(Fields.CheckStr(m.Label, prefix + "label", 128));
            w.WriteString("note");
            w.WriteString(Fields.CheckStr(m.Note, prefix + "note", 1024));
            w.WriteString("at");
            Fields.CheckFinite(m.At, prefix + "at");
            w.WriteFloat64(m.At);
        }

        static readonly string[] KnownSafetyEvent = { "kind", "text", "at" };

        static SafetyEvent DecodeSafetyEvent(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new SafetyEvent();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("kind", out v))
            {
                n++;
                SafetyKind e65;
                if (v.Kind != MsgKind.Str || !EnumWire.TryParse(v.Str, out e65))
                    throw Fields.NotOneOf(v, prefix + "kind", EnumWire.SafetyKindValues);
                m.Kind = e65;
            }
            else throw Fields.Missing(prefix + "kind");
            if (raw.TryGet("text", out v))
            {
                n++;
                m.Text = Fields.Str(v, prefix + "text", 1024);
            }
            else throw Fields.Missing(prefix + "text");
            if (raw.TryGet("at", out v))
            {
                n++;
                var n66 = Fields.Float(v, prefix + "at");
                m.At = n66;
            }
            else throw Fields.Missing(prefix + "at");
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownSafetyEvent, prefix, ctx);
            return m;
        }

        static void EncodeSafetyEvent(MsgPackWriter w, SafetyEvent m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("kind");
            w.WriteString(EnumWire.ToWire(m.Kind));
            w.WriteString("text");
            w.WriteString(Fields.CheckStr(m.Text, prefix + "text", 1024));
            w.WriteString("at");
            Fields.CheckFinite(m.At, prefix + "at");
            w.WriteFloat64(m.At);
        }

        static readonly string[] KnownTelemetry = { "at", "head_position", "head_rotation", "fps", "battery_pct", "charging", "temperature_c" };

        static Telemetry DecodeTelemetry(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new Telemetry();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("at", out v))
            {
                n++;
                var n67 = Fields.Float(v, prefix + "at");
                m.At = n67;
            }
            else throw Fields.Missing(prefix + "at");
            if (raw.TryGet("head_position", out v))
            {
                n++;
                var items68 = Fields.List(v, prefix + "head_position", 3, 1024);
                var list69 = new List<double>(items68.Count);
                for (int i70 = 0; i70 < items68.Count; i70++)
                {
                    double itemi70;
                    var n71 = Fields.Float(items68[i70], prefix + "head_position" + "[" + i70 + "]");
                    itemi70 = n71;
                    list69.Add(itemi70);
                }
                m.HeadPosition = list69;
            }
            else throw Fields.Missing(prefix + "head_position");
            if (raw.TryGet("head_rotation", out v))
            {
                n++;
                var items72 = Fields.List(v, prefix + "head_rotation", 4, 1024);
                var list73 = new List<double>(items72.Count);
                for (int i74 = 0; i74 < items72.Count; i74++)
                {
                    double itemi74;
                    var n75 = Fields.Float(items72[i74], prefix + "head_rotation" + "[" + i74 + "]");
                    itemi74 = n75;
                    list73.Add(itemi74);
                }
                m.HeadRotation = list73;
            }
            else throw Fields.Missing(prefix + "head_rotation");
            if (raw.TryGet("fps", out v))
            {
                n++;
                var n76 = Fields.Float(v, prefix + "fps");
                if (n76 < 0.0) throw Fields.BelowMin(prefix + "fps", n76, "0.0");
                if (n76 > 1000.0) throw Fields.AboveMax(prefix + "fps", n76, "1000.0");
                m.Fps = n76;
            }
            else throw Fields.Missing(prefix + "fps");
            if (raw.TryGet("battery_pct", out v))
            {
                n++;
                var n77 = Fields.Float(v, prefix + "battery_pct");
                if (n77 < 0.0) throw Fields.BelowMin(prefix + "battery_pct", n77, "0.0");
                if (n77 > 100.0) throw Fields.AboveMax(prefix + "battery_pct", n77, "100.0");
                m.BatteryPct = n77;
            }
            if (raw.TryGet("charging", out v))
            {
                n++;
                m.Charging = Fields.Bool(v, prefix + "charging");
            }
            if (raw.TryGet("temperature_c", out v))
            {
                n++;
                var n78 = Fields.Float(v, prefix + "temperature_c");
                if (n78 < -40.0) throw Fields.BelowMin(prefix + "temperature_c", n78, "-40.0");
                if (n78 > 150.0) throw Fields.AboveMax(prefix + "temperature_c", n78, "150.0");
                m.TemperatureC = n78;
            }
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownTelemetry, prefix, ctx);
            return m;
        }

        static void EncodeTelemetry(MsgPackWriter w, Telemetry m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("at");
            Fields.CheckFinite(m.At, prefix + "at");
            w.WriteFloat64(m.At);
            w.WriteString("head_position");
            var list79 = Fields.CheckList(m.HeadPosition, prefix + "head_position", 3, 1024);
            w.WriteArrayHeader(list79.Count);
            for (int i80 = 0; i80 < list79.Count; i80++)
            {
                Fields.CheckFinite(list79[i80], prefix + "head_position" + "[" + i80 + "]");
                w.WriteFloat64(list79[i80]);
            }
            w.WriteString("head_rotation");
            var list81 = Fields.CheckList(m.HeadRotation, prefix + "head_rotation", 4, 1024);
            w.WriteArrayHeader(list81.Count);
            for (int i82 = 0; i82 < list81.Count; i82++)
            {
                Fields.CheckFinite(list81[i82], prefix + "head_rotation" + "[" + i82 + "]");
                w.WriteFloat64(list81[i82]);
            }
            w.WriteString("fps");
            Fields.CheckFinite(m.Fps, prefix + "fps");
            if (m.Fps < 0.0) throw Fields.BelowMin(prefix + "fps", m.Fps, "0.0");
            if (m.Fps > 1000.0) throw Fields.AboveMax(prefix + "fps", m.Fps, "1000.0");
            w.WriteFloat64(m.Fps);
            w.WriteString("battery_pct");
            Fields.CheckFinite(m.BatteryPct, prefix + "battery_pct");
            if (m.BatteryPct < 0.0) throw Fields.BelowMin(prefix + "battery_pct", m.BatteryPct, "0.0");
            if (m.BatteryPct > 100.0) throw Fields.AboveMax(prefix + "battery_pct", m.BatteryPct, "100.0");
            w.WriteFloat64(m.BatteryPct);
            w.WriteString("charging");
            w.WriteBool(m.Charging);
            w.WriteString("temperature_c");
            Fields.CheckFinite(m.TemperatureC, prefix + "temperature_c");
            if (m.TemperatureC < -40.0) throw Fields.BelowMin(prefix + "temperature_c", m.TemperatureC, "-40.0");
            if (m.TemperatureC > 150.0) throw Fields.AboveMax(prefix + "temperature_c", m.TemperatureC, "150.0");
            w.WriteFloat64(m.TemperatureC);
        }

        static readonly string[] KnownMirrorSettings = { "enabled", "max_fps", "max_width", "quality" };

        static MirrorSettings DecodeMirrorSettings(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new MirrorSettings();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("enabled", out v))
            {
                n++;
                m.Enabled = Fields.Bool(v, prefix + "enabled");
            }
            else throw Fields.Missing(prefix + "enabled");
            if (raw.TryGet("max_fps", out v))
            {
                n++;
                var n83 = Fields.Float(v, prefix + "max_fps");
                if (n83 < 0.5) throw Fields.BelowMin(prefix + "max_fps", n83, "0.5");
                if (n83 > 60.0) throw Fields.AboveMax(prefix + "max_fps", n83, "60.0");
                m.MaxFps = n83;
            }
            if (raw.TryGet("max_width", out v))
            {
                n++;
                var n84 = Fields.Int(v, prefix + "max_width");
                if (n84 < 64L) throw Fields.BelowMin(prefix + "max_width", n84, "64");
                if (n84 > 3840L) throw Fields.AboveMax(prefix + "max_width", n84, "3840");
                m.MaxWidth = n84;
            }
            if (raw.TryGet("quality", out v))
            {
                n++;
                var n85 = Fields.Int(v, prefix + "quality");
                if (n85 < 10L) throw Fields.BelowMin(prefix + "quality", n85, "10");
                if (n85 > 95L) throw Fields.AboveMax(prefix + "quality", n85, "95");
                m.Quality = n85;
            }
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownMirrorSettings, prefix, ctx);
            return m;
        }

        static void EncodeMirrorSettings(MsgPackWriter w, MirrorSettings m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("enabled");
            w.WriteBool(m.Enabled);
            w.WriteString("max_fps");
            Fields.CheckFinite(m.MaxFps, prefix + "max_fps");
            if (m.MaxFps < 0.5) throw Fields.BelowMin(prefix + "max_fps", m.MaxFps, "0.5");
            if (m.MaxFps > 60.0) throw Fields.AboveMax(prefix + "max_fps", m.MaxFps, "60.0");
            w.WriteFloat64(m.MaxFps);
            w.WriteString("max_width");
            if (m.MaxWidth < 64L) throw Fields.BelowMin(prefix + "max_width", m.MaxWidth, "64");
            if (m.MaxWidth > 3840L) throw Fields.AboveMax(prefix + "max_width", m.MaxWidth, "3840");
            w.WriteInt(m.MaxWidth);
            w.WriteString("quality");
            if (m.Quality < 10L) throw Fields.BelowMin(prefix + "quality", m.Quality, "10");
            if (m.Quality > 95L) throw Fields.AboveMax(prefix + "quality", m.Quality, "95");
            w.WriteInt(m.Quality);
        }

        static readonly string[] KnownMirrorFrame = { "seq", "captured_at", "width", "height", "jpeg" };

        static MirrorFrame DecodeMirrorFrame(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new MirrorFrame();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("seq", out v))
            {
                n++;
                var n86 = Fields.Int(v, prefix + "seq");
                if (n86 < 0L) throw Fields.BelowMin(prefix + "seq", n86, "0");
                m.Seq = n86;
            }
            else throw Fields.Missing(prefix + "seq");
            if (raw.TryGet("captured_at", out v))
            {
                n++;
                var n87 = Fields.Float(v, prefix + "captured_at");
                m.CapturedAt = n87;
            }
            else throw Fields.Missing(prefix + "captured_at");
            if (raw.TryGet("width", out v))
            {
                n++;
                var n88 = Fields.Int(v, prefix + "width");
                if (n88 < 1L) throw Fields.BelowMin(prefix + "width", n88, "1");
                if (n88 > 3840L) throw Fields.AboveMax(prefix + "width", n88, "3840");
                m.Width = n88;
            }
            else throw Fields.Missing(prefix + "width");
            if (raw.TryGet("height", out v))
            {
                n++;
                var n89 = Fields.Int(v, prefix + "height");
                if (n89 < 1L) throw Fields.BelowMin(prefix + "height", n89, "1");
                if (n89 > 2160L) throw Fields.AboveMax(prefix + "height", n89, "2160");
                m.Height = n89;
            }
            else throw Fields.Missing(prefix + "height");
            if (raw.TryGet("jpeg", out v))
            {
                n++;
                m.Jpeg = Fields.Bytes(v, prefix + "jpeg", 4063232);
            }
            else throw Fields.Missing(prefix + "jpeg");
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownMirrorFrame, prefix, ctx);
            return m;
        }

        static void EncodeMirrorFrame(MsgPackWriter w, MirrorFrame m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("seq");
            if (m.Seq < 0L) throw Fields.BelowMin(prefix + "seq", m.Seq, "0");
            w.WriteInt(m.Seq);
            w.WriteString("captured_at");
            Fields.CheckFinite(m.CapturedAt, prefix + "captured_at");
            w.WriteFloat64(m.CapturedAt);
            w.WriteString("width");
            if (m.Width < 1L) throw Fields.BelowMin(prefix + "width", m.Width, "1");
            if (m.Width > 3840L) throw Fields.AboveMax(prefix + "width", m.Width, "3840");
            w.WriteInt(m.Width);
            w.WriteString("height");
            if (m.Height < 1L) throw Fields.BelowMin(prefix + "height", m.Height, "1");
            if (m.Height > 2160L) throw Fields.AboveMax(prefix + "height", m.Height, "2160");
            w.WriteInt(m.Height);
            w.WriteString("jpeg");
            w.WriteBinary(Fields.CheckBytes(m.Jpeg, prefix + "jpeg", 4063232));
        }

        static readonly string[] KnownMirrorAck = { "seq", "received_at" };

        static MirrorAck DecodeMirrorAck(MsgMap raw, string prefix, DecodeContext ctx)
        {
            var m = new MirrorAck();
            int n = 0;
            MsgValue v;
            if (raw.TryGet("seq", out v))
            {
                n++;
                var n90 = Fields.Int(v, prefix + "seq");
                if (n90 < 0L) throw Fields.BelowMin(prefix + "seq", n90, "0");
                m.Seq = n90;
            }
            else throw Fields.Missing(prefix + "seq");
            if (raw.TryGet("received_at", out v))
            {
                n++;
                var n91 = Fields.Float(v, prefix + "received_at");
                m.ReceivedAt = n91;
            }
            else throw Fields.Missing(prefix + "received_at");
            if (raw.Count > n + 2) Fields.ExtraFields(raw, KnownMirrorAck, prefix, ctx);
            return m;
        }

        static void EncodeMirrorAck(MsgPackWriter w, MirrorAck m, string prefix)
        {
            // type and id were written by the caller, with a map header for both and the fields
            w.WriteString("seq");
            if (m.Seq < 0L) throw Fields.BelowMin(prefix + "seq", m.Seq, "0");
            w.WriteInt(m.Seq);
            w.WriteString("received_at");
            Fields.CheckFinite(m.ReceivedAt, prefix + "received_at");
            w.WriteFloat64(m.ReceivedAt);
        }
    }
}
