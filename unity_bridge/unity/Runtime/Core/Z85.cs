using System;
using System.Text;

namespace Vrclinic.Bridge
{
    /// <summary>
    /// Z85, ZeroMQ's text form for binary keys (ZeroMQ RFC 32): every 4 bytes, read as a
    /// big-endian number, become 5 characters of an 85-character alphabet; a 32-byte CURVE
    /// key is 40 characters. Stateless, any thread.
    /// </summary>
    public static class Z85
    {
        const string Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
        static readonly sbyte[] Digits = BuildDigits();

        static sbyte[] BuildDigits()
        {
            var digits = new sbyte[128];
            for (int i = 0; i < digits.Length; i++) digits[i] = -1;
            for (int i = 0; i < Alphabet.Length; i++) digits[Alphabet[i]] = (sbyte)i;
            return digits;
        }

        /// <summary>The text of <paramref name="data"/>, whose length must be a multiple of 4.</summary>
        public static string Encode(byte[] data)
        {
            if (data == null) throw new ArgumentNullException("data");
            if (data.Length % 4 != 0)
                throw new ArgumentException("Z85 encodes whole groups of 4 bytes; got " + data.Length + " bytes", "data");
            var text = new StringBuilder(data.Length / 4 * 5);
            var group = new char[5];
            for (int i = 0; i < data.Length; i += 4)
            {
                uint value = (uint)data[i] << 24 | (uint)data[i + 1] << 16 | (uint)data[i + 2] << 8 | data[i + 3];
                for (int j = 4; j >= 0; j--)
                {
                    group[j] = Alphabet[(int)(value % 85)];
                    value /= 85;
                }
                text.Append(group);
            }
            return text.ToString();
        }

        /// <summary>The bytes of <paramref name="text"/>; FormatException in words when it is not
        /// Z85 (a length that is not a multiple of 5, a character outside the alphabet, or a
        /// group worth more than 4 bytes).</summary>
        public static byte[] Decode(string text)
        {
            if (text == null) throw new ArgumentNullException("text");
            if (text.Length % 5 != 0)
                throw new FormatException("Z85 text comes in groups of 5 characters; got " + text.Length + " characters");
            var data = new byte[text.Length / 5 * 4];
            for (int i = 0, o = 0; i < text.Length; i += 5, o += 4)
            {
                ulong value = 0; // 85^5 - 1 does not fit in 32 bits: a group can overflow, and must be refused
                for (int j = 0; j < 5; j++)
                {
                    char c = text[i + j];
                    int digit = c < 128 ? Digits[c] : -1;
                    if (digit < 0)
                        throw new FormatException("character " + (i + j + 1) + " is not in the Z85 alphabet");
                    value = value * 85 + (uint)digit;
                }
                if (value > uint.MaxValue)
                    throw new FormatException("characters " + (i + 1) + " to " + (i + 5) + " are worth more than 4 bytes");
                data[o] = (byte)(value >> 24);
                data[o + 1] = (byte)(value >> 16);
                data[o + 2] = (byte)(value >> 8);
                data[o + 3] = (byte)value;
            }
            return data;
        }
    }
}
