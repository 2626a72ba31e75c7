using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Vrclinic.Protocol
{
    /// <summary>Per-decode state: whether unknown fields are tolerated (a peer of a newer
    /// minor version), and which were ignored.</summary>
    public sealed class DecodeContext
    {
        public readonly bool Lenient;
        public readonly List<string> Ignored = new List<string>();

        public DecodeContext(bool lenient)
        {
            Lenient = lenient;
        }
    }

    /// <summary>The field checks the generated codec calls; errors word it like the Python codec.</summary>
    public static class Fields
    {
        static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

        static ProtocolException Invalid(string path, string problem)
        {
            return new ProtocolException(ErrorCode.InvalidField, problem, field: path);
        }

        /// <summary>A number as Python's repr writes it ("1.0", "-0.5", "1e+20"), so texts match.</summary>
        static string Num(double x)
        {
            if (double.IsNaN(x)) return "nan";
            if (double.IsInfinity(x)) return x > 0 ? "inf" : "-inf";
            string text = x.ToString("R", Inv);
            return text.IndexOf('.') < 0 && text.IndexOf('E') < 0 ? text + ".0" : text.Replace("E", "e");
        }

        public static ProtocolException Missing(string path) { return Invalid(path, "required field is missing"); }

        // A number outside its declared min..max is out_of_range, the code set_parameter uses
        // for a parameter's own range (SPEC.md, section 9.3), as the Python codec says it.
        static ProtocolException OutOfRange(string path, string problem)
        {
            return new ProtocolException(ErrorCode.OutOfRange, problem, field: path);
        }

        public static ProtocolException BelowMin(string path, double value, string min)
        {
            return OutOfRange(path, Num(value) + " is below the minimum " + min);
        }

        public static ProtocolException AboveMax(string path, double value, string max)
        {
            return OutOfRange(path, Num(value) + " is above the maximum " + max);
        }

        public static ProtocolException BelowMin(string path, long value, string min)
        {
            return OutOfRange(path, value.ToString(Inv) + " is below the minimum " + min);
        }

        public static ProtocolException AboveMax(string path, long value, string max)
        {
            return OutOfRange(path, value.ToString(Inv) + " is above the maximum " + max);
        }

        public static ProtocolException NotOneOf(MsgValue v, string path, string[] allowed)
        {
            return Invalid(path, v.Describe() + " is not one of " + string.Join(", ", allowed));
        }

        // -- decoding ------------------------------------------------------------------

        public static bool Bool(MsgValue v, string path)
        {
            if (v.Kind != MsgKind.Bool) throw Invalid(path, "expected true/false, got " + v.Describe());
            return v.Bool;
        }

        public static long Int(MsgValue v, string path)
        {
            if (v.Kind == MsgKind.BigUInt)
                throw Invalid(path, v.Describe() + " is larger than this client can hold (2^63 - 1)");
            if (v.Kind != MsgKind.Int) throw Invalid(path, "expected an integer, got " + v.Describe());
            return v.Int;
        }

        /// <summary>A float field accepts integers too (SPEC.md, section 2).</summary>
        public static double Float(MsgValue v, string path)
        {
            double x;
            if (v.Kind == MsgKind.Float) x = v.Float;
            else if (v.Kind == MsgKind.Int) x = v.Int;
            else if (v.Kind == MsgKind.BigUInt) x = v.UInt;
            else throw Invalid(path, "expected a number, got " + v.Describe());
            CheckFinite(x, path);
            return x;
        }

        public static string Str(MsgValue v, string path, int maxBytes)
        {
            if (v.Kind != MsgKind.Str) throw Invalid(path, "expected text, got " + v.Describe());
            if (v.StrBytes > maxBytes)
                throw new ProtocolException(ErrorCode.TooLarge,
                    "text of " + v.StrBytes + " bytes exceeds " + maxBytes, field: path);
            return v.Str;
        }

        public static byte[] Bytes(MsgValue v, string path, int maxBytes)
        {
            if (v.Kind != MsgKind.Bin) throw Invalid(path, "expected binary data, got " + v.Describe());
            return CheckBytes(v.Bin, path, maxBytes);
        }

        public static MsgMap Map(MsgValue v, string path, string structName)
        {
            if (v.Kind != MsgKind.Map) throw Invalid(path, "expected a map (" + structName + "), got " + v.Describe());
            return v.Map;
        }

        public static List<MsgValue> List(MsgValue v, string path, int exact, int longest)
        {
            if (v.Kind != MsgKind.Array) throw Invalid(path, "expected a list, got " + v.Describe());
            CheckCount(v.Array.Count, path, exact, longest);
            return v.Array;
        }

        static void CheckCount(int count, string path, int exact, int longest)
        {
            if (exact >= 0 && count != exact) throw Invalid(path, "expected " + exact + " items, got " + count);
            if (count > longest)
                throw new ProtocolException(ErrorCode.TooLarge,
                    count + " items exceed the limit of " + longest, field: path);
        }

        /// <summary>Keys the declaration does not have: an error from a peer of the same or an
        /// older minor version, ignored (and recorded) from a newer one.</summary>
        public static void ExtraFields(MsgMap raw, string[] known, string prefix, DecodeContext ctx)
        {
            var extra = new List<string>();
            foreach (var key in raw.Keys)
            {
                if (Array.IndexOf(known, key) < 0 && (prefix.Length > 0 || (key != "type" && key != "id")))
                    extra.Add(key);
            }
            for (int i = 0; i < raw.OtherKeys; i++) extra.Add("<binary key>");
            if (extra.Count == 0) return;
            if (!ctx.Lenient)
            {
                extra.Sort(string.CompareOrdinal);
                throw Invalid(prefix.TrimEnd('.'),
                    "unknown field(s) " + string.Join(", ", extra.ToArray()) +
                    " (not in protocol " + ProtocolVersion.Text + ")");
            }
            foreach (var key in extra) ctx.Ignored.Add(prefix + key);
        }

        // -- encoding (the same checks, on our own values) --------------------------------

        public static void CheckFinite(double x, string path)
        {
            if (double.IsNaN(x) || double.IsInfinity(x)) throw Invalid(path, Num(x) + " is not a finite number");
        }

        public static string CheckStr(string s, string path, int maxBytes)
        {
            if (s == null) throw Invalid(path, "expected text, got null");
            int n = Encoding.UTF8.GetByteCount(s);
            if (n > maxBytes)
                throw new ProtocolException(ErrorCode.TooLarge, "text of " + n + " bytes exceeds " + maxBytes, field: path);
            return s;
        }

        public static byte[] CheckBytes(byte[] b, string path, int maxBytes)
        {
            if (b == null) throw Invalid(path, "expected binary data, got null");
            if (b.Length > maxBytes)
                throw new ProtocolException(ErrorCode.TooLarge,
                    b.Length + " bytes exceed the limit of " + maxBytes, field: path);
            return b;
        }

        public static T CheckNotNull<T>(T value, string path) where T : class
        {
            if (value == null) throw Invalid(path, "expected a " + typeof(T).Name + ", got null");
            return value;
        }

        public static List<T> CheckList<T>(List<T> list, string path, int exact, int longest)
        {
            if (list == null) throw Invalid(path, "expected a list, got null");
            CheckCount(list.Count, path, exact, longest);
            return list;
        }
    }
}
