using System;
using System.Collections.Generic;

namespace Vrclinic.Protocol
{
    /// <summary>Which side reads a frame: decides which message types it may receive.</summary>
    public enum Role { Console, Engine }

    /// <summary>A decoded message with its envelope id and the unknown fields it ignored.</summary>
    public sealed class Received
    {
        public readonly long Id;
        public readonly ProtocolMessage Message;
        public readonly IList<string> IgnoredFields;

        public Received(long id, ProtocolMessage message, IList<string> ignoredFields)
        {
            Id = id;
            Message = message;
            IgnoredFields = ignoredFields;
        }
    }

    /// <summary>
    /// Encodes and decodes protocol frames, checking every field against the declaration
    /// (the C# twin of protocol/codec.py: same canonical bytes, same error codes).
    /// Stateless and thread-safe; a <see cref="Decoder"/> keeps one peer's version.
    /// </summary>
    public static partial class Codec
    {
        static readonly string[] NoFields = new string[0];

        /// <summary>Checks <paramref name="message"/> and returns its canonical frame.
        /// Throws ProtocolException when a field is out of range or missing, so that a bug on
        /// our side is caught here rather than by the console.</summary>
        public static byte[] Encode(ProtocolMessage message, long id)
        {
            if (message == null) throw new ArgumentNullException("message");
            if (id < 0) throw new ArgumentOutOfRangeException("id", id, "envelope ids are non-negative");
            var w = new MsgPackWriter(128);
            w.WriteMapHeader(2 + FieldCount(message));
            w.WriteString("type");
            w.WriteString(message.TypeName);
            w.WriteString("id");
            w.WriteInt(id);
            try
            {
                EncodeBody(w, message);
            }
            catch (ProtocolException exc)
            {
                exc.MsgType = message.TypeName;
                throw;
            }
            int limit = message.TypeName == MirrorFrame.Type ? Limits.MaxFrameBytes : Limits.MaxControlFrameBytes;
            if (w.Length > limit)
                throw new ProtocolException(ErrorCode.TooLarge,
                    "frame of " + w.Length + " bytes exceeds " + limit, message.TypeName);
            return w.ToArray();
        }

        static MsgValue Unpack(byte[] frame, out int depth)
        {
            if (frame == null) throw new ArgumentNullException("frame");
            if (frame.Length > Limits.MaxFrameBytes)
                throw new ProtocolException(ErrorCode.TooLarge,
                    "frame of " + frame.Length + " bytes exceeds the limit of " + Limits.MaxFrameBytes);
            if (frame.Length == 0) throw new ProtocolException(ErrorCode.Malformed, "empty frame");
            return MsgPackReader.ReadFrame(frame, out depth);
        }

        /// <summary>(type, id) of a frame as far as they can be read, else ("", -1). Never throws.</summary>
        public static void PeekEnvelope(byte[] frame, out string type, out long id)
        {
            type = "";
            id = -1;
            MsgValue raw;
            try
            {
                int depth;
                raw = Unpack(frame, out depth);
            }
            catch (ProtocolException)
            {
                return;
            }
            if (raw.Kind != MsgKind.Map) return;
            MsgValue v;
            if (raw.Map.TryGet("type", out v) && v.Kind == MsgKind.Str) type = v.Str;
            if (raw.Map.TryGet("id", out v) && v.Kind == MsgKind.Int) id = v.Int;
        }

        /// <summary>Decodes and checks one frame read by <paramref name="receiver"/>.
        /// <paramref name="lenient"/>: the peer announced a newer minor version, so its unknown
        /// fields are ignored (listed in IgnoredFields) and its unknown types give null.
        /// Otherwise both are errors. Throws ProtocolException only.</summary>
        public static Received Decode(byte[] frame, Role receiver, bool lenient = false)
        {
            int depth;
            var raw = Unpack(frame, out depth);
            if (raw.Kind != MsgKind.Map)
                throw new ProtocolException(ErrorCode.Malformed,
                    "expected a map with type and id, got " + raw.Describe());
            MsgValue typeValue, idValue;
            bool hasId = raw.Map.TryGet("id", out idValue) && idValue.Kind == MsgKind.Int;
            if (!raw.Map.TryGet("type", out typeValue) || typeValue.Kind != MsgKind.Str || typeValue.Str.Length == 0)
                throw new ProtocolException(ErrorCode.Malformed, "the map has no text 'type'",
                    refId: hasId && idValue.Int >= 0 ? idValue.Int : -1); // error.ref_id is at least -1
            string type = typeValue.Str;
            if (!hasId || idValue.Int < 0)
                throw new ProtocolException(ErrorCode.Malformed, "the map has no non-negative integer 'id'", type);
            long id = idValue.Int;
            if (depth > Limits.MaxDepth)
                throw new ProtocolException(ErrorCode.TooDeep, "nesting deeper than " + Limits.MaxDepth, type, refId: id);
            Direction direction;
            if (!TryGetDirection(type, out direction))
            {
                if (lenient) return null;
                throw new ProtocolException(ErrorCode.UnknownType,
                    "unknown message type (not in protocol " + ProtocolVersion.Text + ")", type, refId: id);
            }
            if (type != MirrorFrame.Type && frame.Length > Limits.MaxControlFrameBytes)
                throw new ProtocolException(ErrorCode.TooLarge,
                    "frame of " + frame.Length + " bytes exceeds the " + Limits.MaxControlFrameBytes +
                    "-byte limit for control messages", type, refId: id);
            if (!MayReceive(direction, receiver))
            {
                string who = receiver == Role.Console ? "console" : "engine";
                string dir = direction == Direction.ConsoleToEngine ? "console to engine" : "engine to console";
                throw new ProtocolException(ErrorCode.WrongDirection,
                    "only " + dir + "; a " + who + " does not accept it", type, refId: id);
            }
            var ctx = new DecodeContext(lenient);
            ProtocolMessage message;
            try
            {
                message = DecodeBody(type, raw.Map, ctx);
            }
            catch (ProtocolException exc)
            {
                exc.MsgType = type;
                exc.RefId = id;
                throw;
            }
            return new Received(id, message, ctx.Ignored.Count > 0 ? (IList<string>)ctx.Ignored.ToArray() : NoFields);
        }

        static bool MayReceive(Direction direction, Role receiver)
        {
            if (direction == Direction.Both) return true;
            return receiver == Role.Engine ? direction == Direction.ConsoleToEngine : direction == Direction.EngineToConsole;
        }
    }

    /// <summary>
    /// Decodes the frames of one peer, knowing that peer's announced protocol version
    /// (SPEC.md, section 3). Counts what it ignored from a newer peer. One per connection.
    /// </summary>
    public sealed class Decoder
    {
        readonly Role receiver;
        int? peerMinor;

        public Decoder(Role receiver)
        {
            this.receiver = receiver;
        }

        /// <summary>The peer announced a newer minor version: unknown fields and types are ignored.</summary>
        public bool Lenient { get; private set; }
        public int IgnoredFields { get; private set; }
        public int IgnoredTypes { get; private set; }

        public int? PeerMinor
        {
            get { return peerMinor; }
            set
            {
                peerMinor = value;
                Lenient = value.HasValue && value.Value > ProtocolVersion.Minor;
            }
        }

        /// <summary>Decodes one frame from this peer; null for an unknown type from a newer
        /// peer. Before the peer's version is known the frame is read leniently, so that a
        /// hello or welcome of another version can still be understood (and refused with a
        /// reason); unknown fields are then tolerated only in a message announcing another
        /// version. Throws ProtocolException only.</summary>
        public Received Decode(byte[] frame)
        {
            if (!peerMinor.HasValue)
            {
                var received = Codec.Decode(frame, receiver, true);
                if (received == null)
                {
                    string type;
                    long id;
                    Codec.PeekEnvelope(frame, out type, out id);
                    throw new ProtocolException(ErrorCode.UnknownType, "unknown message type", type, refId: id);
                }
                bool otherVersion = false;
                var hello = received.Message as Hello;
                var welcome = received.Message as Welcome;
                if (hello != null)
                    otherVersion = hello.ProtocolMajor != ProtocolVersion.Major || hello.ProtocolMinor > ProtocolVersion.Minor;
                if (welcome != null)
                    otherVersion = welcome.ProtocolMajor != ProtocolVersion.Major || welcome.ProtocolMinor > ProtocolVersion.Minor;
                if (received.IgnoredFields.Count > 0 && !otherVersion)
                    throw new ProtocolException(ErrorCode.InvalidField,
                        "unknown field(s) " + string.Join(", ", ToArray(received.IgnoredFields)) +
                        " (not in protocol " + ProtocolVersion.Text + ")", received.Message.TypeName, refId: received.Id);
                IgnoredFields += received.IgnoredFields.Count;
                return received;
            }
            var result = Codec.Decode(frame, receiver, Lenient);
            if (result == null) IgnoredTypes++;
            else IgnoredFields += result.IgnoredFields.Count;
            return result;
        }

        static string[] ToArray(IList<string> list)
        {
            var a = new string[list.Count];
            list.CopyTo(a, 0);
            return a;
        }
    }
}
