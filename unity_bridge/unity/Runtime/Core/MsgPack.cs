using System;
using System.Collections.Generic;
using System.Text;

namespace Vrclinic.Protocol
{
    /// <summary>
    /// Writes msgpack the way the Python side (msgpack-python, use_bin_type=True) does:
    /// integers and lengths in their smallest form (unsigned forms for non-negative values),
    /// doubles always as float64 (0xcb), strings as str8/16/32, byte arrays as bin.
    /// That is what makes the golden vectors reproducible byte for byte.
    /// </summary>
    public sealed class MsgPackWriter
    {
        static readonly UTF8Encoding Utf8 = new UTF8Encoding(false, true);
        byte[] buffer;
        int length;

        public MsgPackWriter(int capacity = 256)
        {
            buffer = new byte[Math.Max(16, capacity)];
        }

        public int Length { get { return length; } }

        public void Clear() { length = 0; }

        public byte[] ToArray()
        {
            var copy = new byte[length];
            Buffer.BlockCopy(buffer, 0, copy, 0, length);
            return copy;
        }

        void Ensure(int more)
        {
            if (length + more <= buffer.Length) return;
            int size = buffer.Length;
            while (size < length + more) size *= 2;
            Array.Resize(ref buffer, size);
        }

        void Byte(byte b)
        {
            Ensure(1);
            buffer[length++] = b;
        }

        void BigEndian(ulong value, int bytes)
        {
            Ensure(bytes);
            for (int i = bytes - 1; i >= 0; i--)
            {
                buffer[length + i] = (byte)(value & 0xff);
                value >>= 8;
            }
            length += bytes;
        }

        public void WriteNil() { Byte(0xc0); }

        public void WriteBool(bool value) { Byte(value ? (byte)0xc3 : (byte)0xc2); }

        public void WriteInt(long value)
        {
            if (value >= 0)
            {
                WriteUInt((ulong)value);
                return;
            }
            if (value >= -32) { Byte((byte)(sbyte)value); return; }
            if (value >= sbyte.MinValue) { Byte(0xd0); BigEndian((ulong)value, 1); return; }
            if (value >= short.MinValue) { Byte(0xd1); BigEndian((ulong)value, 2); return; }
            if (value >= int.MinValue) { Byte(0xd2); BigEndian((ulong)value, 4); return; }
            Byte(0xd3);
            BigEndian((ulong)value, 8);
        }

        public void WriteUInt(ulong value)
        {
            if (value < 128) { Byte((byte)value); return; }
            if (value <= byte.MaxValue) { Byte(0xcc); BigEndian(value, 1); return; }
            if (value <= ushort.MaxValue) { Byte(0xcd); BigEndian(value, 2); return; }
            if (value <= uint.MaxValue) { Byte(0xce); BigEndian(value, 4); return; }
            Byte(0xcf);
            BigEndian(value, 8);
        }

        public void WriteFloat64(double value)
        {
            Byte(0xcb);
            BigEndian((ulong)BitConverter.DoubleToInt64Bits(value), 8);
        }

        public void WriteString(string value)
        {
            int n = Utf8.GetByteCount(value);
            if (n < 32) Byte((byte)(0xa0 | n));
            else if (n <= byte.MaxValue) { Byte(0xd9); BigEndian((ulong)n, 1); }
            else if (n <= ushort.MaxValue) { Byte(0xda); BigEndian((ulong)n, 2); }
            else { Byte(0xdb); BigEndian((ulong)n, 4); }
            Ensure(n);
            length += Utf8.GetBytes(value, 0, value.Length, buffer, length);
        }

        public void WriteBinary(byte[] value)
        {
            int n = value.Length;
            if (n <= byte.MaxValue) { Byte(0xc4); BigEndian((ulong)n, 1); }
            else if (n <= ushort.MaxValue) { Byte(0xc5); BigEndian((ulong)n, 2); }
            else { Byte(0xc6); BigEndian((ulong)n, 4); }
            Ensure(n);
            Buffer.BlockCopy(value, 0, buffer, length, n);
            length += n;
        }

        public void WriteArrayHeader(int count)
        {
            if (count < 16) Byte((byte)(0x90 | count));
            else if (count <= ushort.MaxValue) { Byte(0xdc); BigEndian((ulong)count, 2); }
            else { Byte(0xdd); BigEndian((ulong)count, 4); }
        }

        public void WriteMapHeader(int count)
        {
            if (count < 16) Byte((byte)(0x80 | count));
            else if (count <= ushort.MaxValue) { Byte(0xde); BigEndian((ulong)count, 2); }
            else { Byte(0xdf); BigEndian((ulong)count, 4); }
        }
    }

    public enum MsgKind { Nil, Bool, Int, BigUInt, Float, Str, Bin, Array, Map }

    /// <summary>One decoded msgpack object. Int holds every integer that fits a long;
    /// BigUInt the unsigned ones above long.MaxValue (kept in UInt).</summary>
    public sealed class MsgValue
    {
        public MsgKind Kind;
        public bool Bool;
        public long Int;
        public ulong UInt;
        public double Float;
        public string Str;
        public int StrBytes;
        public byte[] Bin;
        public List<MsgValue> Array;
        public MsgMap Map;

        /// <summary>A short description for error texts, e.g. <c>'far'</c> or <c>a map</c>.</summary>
        public string Describe()
        {
            switch (Kind)
            {
                case MsgKind.Nil: return "None";
                case MsgKind.Bool: return Bool ? "True" : "False";
                case MsgKind.Int: return Int.ToString(System.Globalization.CultureInfo.InvariantCulture);
                case MsgKind.BigUInt: return UInt.ToString(System.Globalization.CultureInfo.InvariantCulture);
                case MsgKind.Float: return Float.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
                case MsgKind.Str: return Str.Length <= 36 ? "'" + Str + "'" : "'" + Str.Substring(0, 33) + "...'";
                case MsgKind.Bin: return "binary data of " + Bin.Length + " bytes";
                case MsgKind.Array: return "a list of " + Array.Count + " items";
                default: return "a map of " + Map.Count + " entries";
            }
        }
    }

    /// <summary>A decoded map. Text keys are looked up by name (a repeated key: the last one
    /// wins, as in Python); keys of other kinds are kept only so they count as unknown fields.</summary>
    public sealed class MsgMap
    {
        readonly Dictionary<string, MsgValue> byName = new Dictionary<string, MsgValue>();
        readonly List<string> order = new List<string>();
        int otherKeys;

        public int Count { get { return byName.Count + otherKeys; } }

        /// <summary>The text keys, in the order they first appeared.</summary>
        public IList<string> Keys { get { return order; } }

        public int OtherKeys { get { return otherKeys; } }

        public bool TryGet(string key, out MsgValue value) { return byName.TryGetValue(key, out value); }

        internal void Add(MsgValue key, MsgValue value)
        {
            if (key.Kind == MsgKind.Str)
            {
                if (!byName.ContainsKey(key.Str)) order.Add(key.Str);
                byName[key.Str] = value;
            }
            else
            {
                otherKeys++;
            }
        }
    }

    /// <summary>
    /// Reads one msgpack object from a frame, with the limits checked before anything is
    /// allocated: a str/bin header claiming more bytes than the frame holds is "malformed"
    /// (truncated), a length over the limit is "too_large", an array or map header over the
    /// limit is "too_large" at once. Map keys must be text or binary (as Python's
    /// strict_map_key). Extension types are refused. Records the deepest nesting reached
    /// (the outermost container is level 1) and refuses absurd nesting outright.
    /// </summary>
    public sealed class MsgPackReader
    {
        /// <summary>Nesting beyond which reading stops at once (the protocol's own, smaller,
        /// limit is checked after the envelope, as the Python codec does).</summary>
        public const int HardDepthLimit = 64;

        static readonly UTF8Encoding StrictUtf8 = new UTF8Encoding(false, true);
        readonly byte[] data;
        int pos;
        int maxDepth;

        MsgPackReader(byte[] data)
        {
            this.data = data;
        }

        /// <summary>Reads a whole frame: exactly one object and nothing after it.</summary>
        public static MsgValue ReadFrame(byte[] frame, out int depth)
        {
            var reader = new MsgPackReader(frame);
            var value = reader.Read(0);
            if (reader.pos != frame.Length)
                throw new ProtocolException(ErrorCode.Malformed, "extra bytes after the message map");
            depth = reader.maxDepth;
            return value;
        }

        static ProtocolException Truncated()
        {
            return new ProtocolException(ErrorCode.Malformed,
                "frame ends early (truncated, or a length header claims more bytes than sent)");
        }

        byte Next()
        {
            if (pos >= data.Length) throw Truncated();
            return data[pos++];
        }

        ulong BigEndian(int bytes)
        {
            if (data.Length - pos < bytes) throw Truncated();
            ulong value = 0;
            for (int i = 0; i < bytes; i++) value = (value << 8) | data[pos + i];
            pos += bytes;
            return value;
        }

        int Length(int bytes)
        {
            ulong n = BigEndian(bytes);
            return n > int.MaxValue ? int.MaxValue : (int)n;
        }

        MsgValue Read(int depth)
        {
            byte b = Next();
            if (b <= 0x7f) return new MsgValue { Kind = MsgKind.Int, Int = b };
            if (b >= 0xe0) return new MsgValue { Kind = MsgKind.Int, Int = (sbyte)b };
            if (b >= 0x80 && b <= 0x8f) return ReadMap(b & 0x0f, depth);
            if (b >= 0x90 && b <= 0x9f) return ReadArray(b & 0x0f, depth);
            if (b >= 0xa0 && b <= 0xbf) return ReadStr(b & 0x1f);
            switch (b)
            {
                case 0xc0: return new MsgValue { Kind = MsgKind.Nil };
                case 0xc2: return new MsgValue { Kind = MsgKind.Bool, Bool = false };
                case 0xc3: return new MsgValue { Kind = MsgKind.Bool, Bool = true };
                case 0xc4: return ReadBin(Length(1));
                case 0xc5: return ReadBin(Length(2));
                case 0xc6: return ReadBin(Length(4));
                case 0xc7: case 0xc8: case 0xc9:
                case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
                    throw new ProtocolException(ErrorCode.TooLarge, "a msgpack extension type (exceeds max_ext_len 0)");
                case 0xca:
                {
                    var bits = (int)(uint)BigEndian(4);
                    var f = BitConverter.ToSingle(BitConverter.GetBytes(bits), 0);
                    return new MsgValue { Kind = MsgKind.Float, Float = f };
                }
                case 0xcb:
                    return new MsgValue { Kind = MsgKind.Float, Float = BitConverter.Int64BitsToDouble((long)BigEndian(8)) };
                case 0xcc: return new MsgValue { Kind = MsgKind.Int, Int = (long)BigEndian(1) };
                case 0xcd: return new MsgValue { Kind = MsgKind.Int, Int = (long)BigEndian(2) };
                case 0xce: return new MsgValue { Kind = MsgKind.Int, Int = (long)BigEndian(4) };
                case 0xcf:
                {
                    ulong u = BigEndian(8);
                    if (u > long.MaxValue) return new MsgValue { Kind = MsgKind.BigUInt, UInt = u };
                    return new MsgValue { Kind = MsgKind.Int, Int = (long)u };
                }
                case 0xd0: return new MsgValue { Kind = MsgKind.Int, Int = (sbyte)BigEndian(1) };
                case 0xd1: return new MsgValue { Kind = MsgKind.Int, Int = (short)BigEndian(2) };
                case 0xd2: return new MsgValue { Kind = MsgKind.Int, Int = (int)BigEndian(4) };
                case 0xd3: return new MsgValue { Kind = MsgKind.Int, Int = (long)BigEndian(8) };
                case 0xd9: return ReadStr(Length(1));
                case 0xda: return ReadStr(Length(2));
                case 0xdb: return ReadStr(Length(4));
                case 0xdc: return ReadArray(Length(2), depth);
                case 0xdd: return ReadArray(Length(4), depth);
                case 0xde: return ReadMap(Length(2), depth);
                case 0xdf: return ReadMap(Length(4), depth);
                default:
                    throw new ProtocolException(ErrorCode.Malformed,
                        "not valid msgpack (reserved byte 0x" + b.ToString("x2") + ")");
            }
        }

        MsgValue ReadStr(int n)
        {
            if (data.Length - pos < n) throw Truncated();
            if (n > Limits.MaxStrBytes)
                throw new ProtocolException(ErrorCode.TooLarge,
                    "a length header is over the limit (" + n + " exceeds max_str_len(" + Limits.MaxStrBytes + "))");
            string text;
            try
            {
                text = StrictUtf8.GetString(data, pos, n);
            }
            catch (ArgumentException)
            {
                throw new ProtocolException(ErrorCode.Malformed, "not valid msgpack (text that is not UTF-8)");
            }
            pos += n;
            return new MsgValue { Kind = MsgKind.Str, Str = text, StrBytes = n };
        }

        MsgValue ReadBin(int n)
        {
            if (data.Length - pos < n) throw Truncated();
            if (n > Limits.MaxJpegBytes)
                throw new ProtocolException(ErrorCode.TooLarge,
                    "a length header is over the limit (" + n + " exceeds max_bin_len(" + Limits.MaxJpegBytes + "))");
            var bytes = new byte[n];
            Buffer.BlockCopy(data, pos, bytes, 0, n);
            pos += n;
            return new MsgValue { Kind = MsgKind.Bin, Bin = bytes };
        }

        void Enter(int depth)
        {
            if (depth + 1 > maxDepth) maxDepth = depth + 1;
            if (depth + 1 > HardDepthLimit)
                throw new ProtocolException(ErrorCode.TooDeep, "nesting too deep to decode");
        }

        MsgValue ReadArray(int n, int depth)
        {
            if (n > Limits.MaxListLen)
                throw new ProtocolException(ErrorCode.TooLarge,
                    "a length header is over the limit (" + n + " exceeds max_array_len(" + Limits.MaxListLen + "))");
            Enter(depth);
            // Each item takes at least one byte: a count the frame cannot hold is truncated.
            if (data.Length - pos < n) throw Truncated();
            var items = new List<MsgValue>(n);
            for (int i = 0; i < n; i++) items.Add(Read(depth + 1));
            return new MsgValue { Kind = MsgKind.Array, Array = items };
        }

        MsgValue ReadMap(int n, int depth)
        {
            if (n > Limits.MaxMapLen)
                throw new ProtocolException(ErrorCode.TooLarge,
                    "a length header is over the limit (" + n + " exceeds max_map_len(" + Limits.MaxMapLen + "))");
            Enter(depth);
            if (data.Length - pos < 2 * n) throw Truncated();
            var map = new MsgMap();
            for (int i = 0; i < n; i++)
            {
                var key = Read(depth + 1);
                if (key.Kind != MsgKind.Str && key.Kind != MsgKind.Bin)
                    throw new ProtocolException(ErrorCode.Malformed,
                        "not valid msgpack (" + key.Describe() + " is not allowed for map key)");
                map.Add(key, Read(depth + 1));
            }
            return new MsgValue { Kind = MsgKind.Map, Map = map };
        }
    }
}
