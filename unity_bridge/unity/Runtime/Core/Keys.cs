using System;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Vrclinic.Bridge
{
    /// <summary>A key or keys file is unusable; the message says which and what to do.</summary>
    public sealed class KeyProblem : Exception
    {
        public KeyProblem(string message) : base(message) { }
    }

    /// <summary>CURVE keys as the protocol writes them (SPEC.md, section 10.2): 32 bytes, 40
    /// characters of Z85. The C# twin of protocol/security.py's check_key and raw_key.</summary>
    public static class CurveKeys
    {
        public const int Length = 40;

        /// <summary>The key itself when it is a Z85-encoded 32-byte key, else KeyProblem in words.</summary>
        public static string Check(string key, string what = "key")
        {
            if (key == null || key.Length != Length)
            {
                string got = key == null ? "nothing" : key.Length + " characters";
                throw new KeyProblem("the " + what + " must be 40 characters of Z85 (a CURVE key), got " + got);
            }
            try
            {
                Z85.Decode(key);
            }
            catch (FormatException)
            {
                throw new KeyProblem("the " + what + " is not valid Z85 text");
            }
            return key;
        }

        /// <summary>The 32 bytes of a Z85 key (KeyProblem when it is not one).</summary>
        public static byte[] Raw(string key, string what = "key")
        {
            return Z85.Decode(Check(key, what));
        }

        /// <summary>A short, stable label for a public key in lists and logs (never for the secret).</summary>
        public static string Fingerprint(string publicKey)
        {
            using (var sha = SHA256.Create())
            {
                var digest = sha.ComputeHash(Raw(publicKey, "public key"));
                var sb = new StringBuilder(12);
                for (int i = 0; i < 6; i++) sb.Append(digest[i].ToString("x2", CultureInfo.InvariantCulture));
                return sb.ToString();
            }
        }
    }

    /// <summary>A long-term CURVE key pair (Curve25519, as zmq_curve_keypair makes it), Z85.
    /// The secret never appears in ToString, logs or messages.</summary>
    public sealed class KeyPair
    {
        KeyPair(string publicKey, string secretKey)
        {
            Public = publicKey;
            Secret = secretKey;
        }

        public string Public { get; private set; }
        public string Secret { get; private set; }

        /// <summary>A new pair: 32 random bytes from the system's cryptographic generator as the
        /// secret key, its X25519 public key.</summary>
        public static KeyPair Generate()
        {
            var secret = new byte[32];
            using (var rng = RandomNumberGenerator.Create()) rng.GetBytes(secret);
            return new KeyPair(Z85.Encode(Curve25519.PublicFromSecret(secret)), Z85.Encode(secret));
        }

        /// <summary>The pair a secret key makes (its public key is computed, not trusted).</summary>
        public static KeyPair FromSecret(string secret)
        {
            var raw = CurveKeys.Raw(secret, "secret key");
            return new KeyPair(Z85.Encode(Curve25519.PublicFromSecret(raw)), secret);
        }

        public override string ToString() { return "KeyPair(public=" + Public + ", secret=<hidden>)"; }
    }

    /// <summary>What an engine needs to connect: its own key pair and, once paired, the
    /// console's public key (null until then). Immutable.</summary>
    public sealed class EngineKeys
    {
        public EngineKeys(KeyPair own, string consolePublic = null)
        {
            if (own == null) throw new ArgumentNullException("own");
            Own = own;
            ConsolePublic = consolePublic == null ? null : CurveKeys.Check(consolePublic, "console's public key");
        }

        public KeyPair Own { get; private set; }
        /// <summary>The pinned console key (Z85); null while this headset is not paired.</summary>
        public string ConsolePublic { get; private set; }
        public bool IsPaired { get { return ConsolePublic != null; } }

        public EngineKeys WithConsole(string consolePublic) { return new EngineKeys(Own, consolePublic); }

        public EngineKeys WithoutConsole() { return new EngineKeys(Own); }

        public override string ToString()
        {
            return "EngineKeys(public=" + Own.Public + ", secret=<hidden>, console_public=" + (ConsolePublic ?? "none") + ")";
        }
    }

    /// <summary>The pairing code and the pairing port's address (SPEC.md, sections 10.4, 10.5).</summary>
    public static class Pairing
    {
        static readonly byte[] Salt = Encoding.ASCII.GetBytes("vrclinic pairing v1");

        /// <summary>Six digits both sides show while pairing, e.g. "042 917": equal only when
        /// both sides hold the same two public keys. KeyProblem for a key that is not one.</summary>
        public static string Code(string consolePublic, string enginePublic)
        {
            var console = CurveKeys.Raw(consolePublic, "console's public key");
            var engine = CurveKeys.Raw(enginePublic, "engine's public key");
            var input = new byte[Salt.Length + 64];
            Array.Copy(Salt, input, Salt.Length);
            Array.Copy(console, 0, input, Salt.Length, 32);
            Array.Copy(engine, 0, input, Salt.Length + 32, 32);
            byte[] digest;
            using (var sha = SHA256.Create()) digest = sha.ComputeHash(input);
            uint first = (uint)digest[0] << 24 | (uint)digest[1] << 16 | (uint)digest[2] << 8 | digest[3];
            uint number = first % 1000000;
            return (number / 1000).ToString("000", CultureInfo.InvariantCulture) + " " +
                   (number % 1000).ToString("000", CultureInfo.InvariantCulture);
        }

        /// <summary>The pairing port of a console address: its port + 1, e.g.
        /// "tcp://192.168.1.20:5556" for "tcp://192.168.1.20:5555". KeyProblem in words when
        /// the address has no port number.</summary>
        public static string EndpointFor(string consoleAddress, int offset = 1)
        {
            int colon = consoleAddress == null ? -1 : consoleAddress.LastIndexOf(':');
            int port = 0;
            bool parsed = colon >= 0 &&
                          int.TryParse(consoleAddress.Substring(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port);
            if (!parsed || port <= 0 || port + offset > 65535)
                throw new KeyProblem("cannot work out the pairing port from the console address '" + consoleAddress +
                                     "': give it as tcp://ADDRESS:PORT");
            return consoleAddress.Substring(0, colon + 1) + (port + offset);
        }
    }
}
