using System;
using System.Numerics;

namespace Vrclinic.Bridge
{
    /// <summary>
    /// X25519 (RFC 7748, section 5): the public key that belongs to a CURVE secret key, as
    /// libzmq's zmq_curve_public / libsodium's crypto_scalarmult_base compute it. Used where a
    /// key pair is made or a keys file is read, never on the link (NetMQ does the link's
    /// cryptography). Stateless, any thread.
    ///
    /// Written for clarity with BigInteger, which is not constant-time: fine for deriving
    /// this device's own public key a few times per run (nothing remote can time it), not
    /// for a server answering strangers.
    /// </summary>
    public static class Curve25519
    {
        static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;
        static readonly BigInteger A24 = 121665;

        /// <summary>X25519(secret, 9): the public key of a 32-byte secret key.</summary>
        public static byte[] PublicFromSecret(byte[] secret)
        {
            if (secret == null || secret.Length != 32) throw new ArgumentException("a CURVE secret key has 32 bytes", "secret");
            var basePoint = new byte[32];
            basePoint[0] = 9;
            return ScalarMult(secret, basePoint);
        }

        /// <summary>X25519(scalar, u): both 32 bytes, little-endian as in RFC 7748.</summary>
        public static byte[] ScalarMult(byte[] scalar, byte[] u)
        {
            if (scalar == null || scalar.Length != 32) throw new ArgumentException("the scalar has 32 bytes", "scalar");
            if (u == null || u.Length != 32) throw new ArgumentException("the u-coordinate has 32 bytes", "u");
            var k = (byte[])scalar.Clone();
            // "Clamping" (RFC 7748, decodeScalar25519): a multiple of the cofactor 8, top bit set.
            k[0] &= 248;
            k[31] &= 127;
            k[31] |= 64;
            var uBytes = (byte[])u.Clone();
            uBytes[31] &= 127; // the top bit of u is ignored (decodeUCoordinate)
            BigInteger x1 = Mod(FromLittleEndian(uBytes));
            BigInteger x2 = 1, z2 = 0, x3 = x1, z3 = 1;
            int swap = 0;
            for (int t = 254; t >= 0; t--)
            {
                int bit = (k[t >> 3] >> (t & 7)) & 1;
                swap ^= bit;
                Swap(swap, ref x2, ref x3);
                Swap(swap, ref z2, ref z3);
                swap = bit;
                // One step of the Montgomery ladder (RFC 7748's pseudo-code, in the same order).
                BigInteger a = Mod(x2 + z2), aa = Mod(a * a);
                BigInteger b = Mod(x2 - z2), bb = Mod(b * b);
                BigInteger e = Mod(aa - bb);
                BigInteger c = Mod(x3 + z3), d = Mod(x3 - z3);
                BigInteger da = Mod(d * a), cb = Mod(c * b);
                BigInteger sum = da + cb, diff = da - cb;
                x3 = Mod(sum * sum);
                z3 = Mod(x1 * Mod(diff * diff));
                x2 = Mod(aa * bb);
                z2 = Mod(e * (aa + A24 * e));
            }
            Swap(swap, ref x2, ref x3);
            Swap(swap, ref z2, ref z3);
            var result = Mod(x2 * BigInteger.ModPow(z2, P - 2, P));
            return ToLittleEndian32(result);
        }

        static void Swap(int condition, ref BigInteger a, ref BigInteger b)
        {
            if (condition == 0) return;
            var t = a;
            a = b;
            b = t;
        }

        static BigInteger Mod(BigInteger value)
        {
            var r = BigInteger.Remainder(value, P);
            return r.Sign < 0 ? r + P : r;
        }

        static BigInteger FromLittleEndian(byte[] bytes)
        {
            var unsigned = new byte[bytes.Length + 1]; // a trailing 0: BigInteger reads two's complement
            Array.Copy(bytes, unsigned, bytes.Length);
            return new BigInteger(unsigned);
        }

        static byte[] ToLittleEndian32(BigInteger value)
        {
            var bytes = value.ToByteArray(); // little-endian, maybe with a sign byte
            var out32 = new byte[32];
            Array.Copy(bytes, out32, Math.Min(32, bytes.Length));
            return out32;
        }
    }
}
