using System;
using System.Collections.Generic;
using System.IO;
using NUnit.Framework;

namespace Vrclinic.Bridge.Tests
{
    /// <summary>
    /// One known answer computed by the Python implementation (protocol/security.py, pyzmq's
    /// Z85 and libsodium's X25519) at test time: tests/unity_bridge/test_unity_package.py
    /// writes them to a file named by VRCLINIC_TEST_VECTORS, one per line, tab-separated:
    /// kind, name, fields. Without the variable (in the Unity editor) there are none, and
    /// only the fixed known answers below run.
    /// </summary>
    public sealed class PythonVector
    {
        public string Kind, Name;
        public string[] Fields;

        public override string ToString() { return Name; }

        public static IEnumerable<PythonVector> Load(string kind)
        {
            var path = Environment.GetEnvironmentVariable("VRCLINIC_TEST_VECTORS");
            if (string.IsNullOrEmpty(path)) yield break;
            foreach (var line in File.ReadAllLines(path))
            {
                var parts = line.Split('\t');
                if (parts.Length < 2 || parts[0] != kind) continue;
                var fields = new string[parts.Length - 2];
                Array.Copy(parts, 2, fields, 0, fields.Length);
                yield return new PythonVector { Kind = parts[0], Name = parts[1], Fields = fields };
            }
        }

        /// <summary>Where a test leaves files for the Python side to check (VRCLINIC_TEST_OUT); null in the editor.</summary>
        public static string OutputFolder
        {
            get
            {
                var path = Environment.GetEnvironmentVariable("VRCLINIC_TEST_OUT");
                return string.IsNullOrEmpty(path) ? null : path;
            }
        }
    }

    /// <summary>Z85, X25519 and the pairing code against the Python implementation's values
    /// and the RFCs' own examples.</summary>
    [TestFixture]
    public class SecurityTests
    {
        static IEnumerable<PythonVector> Z85Vectors() { return PythonVector.Load("z85"); }

        static IEnumerable<PythonVector> PublicKeyVectors() { return PythonVector.Load("curve_public"); }

        static IEnumerable<PythonVector> X25519Vectors() { return PythonVector.Load("x25519"); }

        static IEnumerable<PythonVector> PairingVectors() { return PythonVector.Load("pairing"); }

        static IEnumerable<PythonVector> BadKeyVectors() { return PythonVector.Load("bad_key"); }

        static IEnumerable<PairingVector> GoldenPairingCodes() { return GoldenVectors.PairingCodes; }

        [Test]
        public void Z85EncodesTheExampleOfRfc32()
        {
            Assert.AreEqual("HelloWorld", Z85.Encode(Hex.Decode("864fd26fb559f75b")));
            Assert.AreEqual("864fd26fb559f75b", Hex.Encode(Z85.Decode("HelloWorld")));
        }

        [TestCaseSource("Z85Vectors")]
        public void Z85MatchesPython(PythonVector v)
        {
            Assert.AreEqual(v.Fields[1], Z85.Encode(Hex.Decode(v.Fields[0])));
            Assert.AreEqual(v.Fields[0], Hex.Encode(Z85.Decode(v.Fields[1])));
        }

        [Test]
        public void Z85RefusesWhatIsNotZ85InWords()
        {
            StringAssert.Contains("groups of 5", Assert.Throws<FormatException>(() => Z85.Decode("Hello1")).Message);
            StringAssert.Contains("not in the Z85 alphabet", Assert.Throws<FormatException>(() => Z85.Decode("Hell~")).Message);
            StringAssert.Contains("not in the Z85 alphabet", Assert.Throws<FormatException>(() => Z85.Decode("Hell\u00e9")).Message);
            // 85^5 - 1 is more than 2^32 - 1: "#####" is five characters of the alphabet but no 4 bytes
            StringAssert.Contains("worth more than 4 bytes", Assert.Throws<FormatException>(() => Z85.Decode("#####")).Message);
            Assert.AreEqual("ffffffff", Hex.Encode(Z85.Decode("%nSc0")));
            Assert.Throws<ArgumentException>(() => Z85.Encode(new byte[3]));
            Assert.AreEqual(0, Z85.Decode("").Length);
        }

        [Test]
        public void X25519GivesTheExamplesOfRfc7748()
        {
            // RFC 7748, section 5.2 (first example) and section 6.1 (Alice and Bob).
            Assert.AreEqual("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
                Hex.Encode(Curve25519.ScalarMult(Hex.Decode("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                                                 Hex.Decode("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"))));
            var alice = Hex.Decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
            var bob = Hex.Decode("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
            Assert.AreEqual("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", Hex.Encode(Curve25519.PublicFromSecret(alice)));
            Assert.AreEqual("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", Hex.Encode(Curve25519.PublicFromSecret(bob)));
            Assert.AreEqual("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
                Hex.Encode(Curve25519.ScalarMult(alice, Curve25519.PublicFromSecret(bob))));
        }

        [TestCaseSource("PublicKeyVectors")]
        public void ThePublicKeyOfASecretKeyMatchesLibzmq(PythonVector v)
        {
            Assert.AreEqual(v.Fields[1], KeyPair.FromSecret(v.Fields[0]).Public);
        }

        [TestCaseSource("X25519Vectors")]
        public void X25519MatchesLibsodium(PythonVector v)
        {
            Assert.AreEqual(v.Fields[2], Hex.Encode(Curve25519.ScalarMult(Hex.Decode(v.Fields[0]), Hex.Decode(v.Fields[1]))));
        }

        [TestCaseSource("GoldenPairingCodes")]
        public void PairingCodeOfTheSpecsExamples(PairingVector v)
        {
            Assert.AreEqual(v.Code, Pairing.Code(v.ConsolePublic, v.EnginePublic));
        }

        [TestCaseSource("PairingVectors")]
        public void PairingCodeMatchesPython(PythonVector v)
        {
            Assert.AreEqual(v.Fields[2], Pairing.Code(v.Fields[0], v.Fields[1]));
        }

        static IEnumerable<PythonVector> FingerprintVectors() { return PythonVector.Load("fingerprint"); }

        [TestCaseSource("FingerprintVectors")]
        public void FingerprintMatchesPython(PythonVector v)
        {
            Assert.AreEqual(v.Fields[1], CurveKeys.Fingerprint(v.Fields[0]));
        }

        [TestCaseSource("BadKeyVectors")]
        public void AKeyPythonRefusesIsRefused(PythonVector v)
        {
            var problem = Assert.Throws<KeyProblem>(() => CurveKeys.Check(v.Fields[0], "console's public key"));
            StringAssert.Contains("console's public key", problem.Message);
        }

        [Test]
        public void KeysAreCheckedInWords()
        {
            StringAssert.Contains("must be 40 characters of Z85 (a CURVE key), got 39 characters",
                Assert.Throws<KeyProblem>(() => CurveKeys.Check(new string('a', 39), "console's public key")).Message);
            StringAssert.Contains("got nothing", Assert.Throws<KeyProblem>(() => CurveKeys.Check(null)).Message);
            StringAssert.Contains("is not valid Z85 text", Assert.Throws<KeyProblem>(() => CurveKeys.Check(new string('~', 40))).Message);
            StringAssert.Contains("is not valid Z85 text", Assert.Throws<KeyProblem>(() => CurveKeys.Check(new string('#', 40))).Message);
            Assert.Throws<KeyProblem>(() => Pairing.Code(new string('#', 40), GoldenVectors.PairingCodes[0].EnginePublic));
        }

        [Test]
        public void AGeneratedPairIsAPairAndItsSecretIsNeverPrinted()
        {
            var a = KeyPair.Generate();
            var b = KeyPair.Generate();
            Assert.AreNotEqual(a.Secret, b.Secret);
            Assert.AreEqual(a.Public, KeyPair.FromSecret(a.Secret).Public);
            Assert.AreEqual(40, a.Public.Length);
            Assert.IsFalse(a.ToString().Contains(a.Secret), a.ToString());
            var keys = new EngineKeys(a, b.Public);
            Assert.IsFalse(keys.ToString().Contains(a.Secret), keys.ToString());
            Assert.IsTrue(keys.IsPaired);
            Assert.IsFalse(keys.WithoutConsole().IsPaired);
            Assert.AreEqual(12, CurveKeys.Fingerprint(a.Public).Length);
        }

        [Test]
        public void ThePairingPortIsTheMainPortPlusOne()
        {
            Assert.AreEqual("tcp://192.168.1.20:5556", Pairing.EndpointFor("tcp://192.168.1.20:5555"));
            Assert.AreEqual("tcp://[::1]:7001", Pairing.EndpointFor("tcp://[::1]:7000"));
            StringAssert.Contains("give it as tcp://ADDRESS:PORT",
                Assert.Throws<KeyProblem>(() => Pairing.EndpointFor("tcp://console.local")).Message);
            Assert.Throws<KeyProblem>(() => Pairing.EndpointFor("tcp://h:65535"));
            Assert.Throws<KeyProblem>(() => Pairing.EndpointFor(null));
        }
    }
}
