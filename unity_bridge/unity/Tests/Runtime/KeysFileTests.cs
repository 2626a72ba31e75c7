using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using NUnit.Framework;

namespace Vrclinic.Bridge.Tests
{
    /// <summary>The keys file: round trip, the owner-only rule, hostile contents, and files
    /// written by the Python implementation (protocol/security.py) read here.</summary>
    [TestFixture]
    public class KeysFileTests
    {
        string folder;

        [SetUp]
        public void MakeFolder()
        {
            folder = Path.Combine(Path.GetTempPath(), "vrclinic-keys-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
        }

        [TearDown]
        public void RemoveFolder()
        {
            Environment.SetEnvironmentVariable(KeysFile.EnvironmentVariable, null);
            if (Directory.Exists(folder)) Directory.Delete(folder, true);
        }

        static IEnumerable<PythonVector> PythonKeysFiles() { return PythonVector.Load("keys_file"); }

        static IEnumerable<PythonVector> PythonRefusedFiles() { return PythonVector.Load("refused_keys_file"); }

        string Write(string name, string text, int mode = 0x180)
        {
            var path = Path.Combine(folder, name);
            File.WriteAllText(path, text, new UTF8Encoding(false));
            PosixFileModes.Set(path, mode);
            return path;
        }

        static string Json(string pub, string secret, string console = null)
        {
            return "{\"public\": \"" + pub + "\", \"secret\": \"" + secret + "\"" +
                   (console != null ? ", \"console_public\": \"" + console + "\"" : "") + "}";
        }

        [Test]
        public void AWrittenFileIsReadBackAndOnlyItsOwnerMayReadIt()
        {
            var keys = new EngineKeys(KeyPair.Generate(), KeyPair.Generate().Public);
            var path = Path.Combine(folder, "sub", "keys.json");
            KeysFile.Write(path, keys);
            var back = KeysFile.Read(path);
            Assert.AreEqual(keys.Own.Public, back.Own.Public);
            Assert.AreEqual(keys.Own.Secret, back.Own.Secret);
            Assert.AreEqual(keys.ConsolePublic, back.ConsolePublic);
            if (PosixFileModes.Available) Assert.AreEqual(0x180, PosixFileModes.Get(path).Value, "mode 0600");
            // replaced in place, still private; unpaired: no console_public at all
            KeysFile.Write(path, keys.WithoutConsole());
            var text = File.ReadAllText(path);
            Assert.IsFalse(text.Contains("console_public"), text);
            Assert.IsFalse(KeysFile.Read(path).IsPaired);
            if (PosixFileModes.Available) Assert.AreEqual(0x180, PosixFileModes.Get(path).Value);
            Assert.IsFalse(File.Exists(path + ".tmp"));
        }

        [Test]
        public void AFileOthersCanReadIsRefusedWithTheChmodToRun()
        {
            if (!PosixFileModes.Available) return; // Windows: no modes to check
            var keys = new EngineKeys(KeyPair.Generate());
            foreach (var mode in new[] { 0x1A4 /* 0644 */, 0x1A0 /* 0640 */, 0x181 /* 0601 */, 0x1B6 /* 0666 */ })
            {
                var path = Path.Combine(folder, "keys-" + mode + ".json");
                KeysFile.Write(path, keys);
                PosixFileModes.Set(path, mode);
                Assert.AreEqual(mode, PosixFileModes.Get(path).Value);
                var problem = Assert.Throws<KeyProblem>(() => KeysFile.Read(path));
                StringAssert.Contains("can be read by other users of this computer", problem.Message);
                StringAssert.Contains("chmod 600 " + path, problem.Message);
                // a platform whose storage is private by other means (Android) may skip the check
                Assert.AreEqual(keys.Own.Public, KeysFile.Read(path, false).Own.Public);
            }
        }

        [Test]
        public void UnusableFilesAreRefusedInWordsNamingTheFile()
        {
            var a = KeyPair.Generate();
            var b = KeyPair.Generate();
            var cases = new[]
            {
                new[] { "not-json.json", "public = x", "is not readable JSON" },
                new[] { "list.json", "[1, 2]", "a JSON object must start with {" },
                new[] { "empty.json", "", "a JSON object must start with {" },
                new[] { "trailing.json", Json(a.Public, a.Secret) + " {}", "text after the end of the object" },
                new[] { "comma.json", "{\"secret\": \"" + a.Secret + "\",}", "expected a key in double quotes" },
                new[] { "twice.json", "{\"secret\": \"" + a.Secret + "\", \"secret\": \"" + b.Secret + "\"}", "appears twice" },
                new[] { "no-secret.json", "{\"public\": \"" + a.Public + "\"}", "the secret key must be 40 characters of Z85 (a CURVE key), got nothing" },
                new[] { "number.json", "{\"secret\": 12345}", "got a number" },
                new[] { "mismatch.json", Json(b.Public, a.Secret), "its public key does not belong to its secret key" },
                new[] { "bad-console.json", Json(a.Public, a.Secret, "not a key"), "console_public must be 40 characters" },
                new[] { "bad-z85.json", Json(a.Public, new string('#', 40)), "the secret key is not valid Z85 text" },
                new[] { "deep.json", "{\"x\": " + new string('[', 100) + new string(']', 100) + "}", "nested deeper than 32" },
                new[] { "unterminated.json", "{\"secret\": \"abc", "a string that never ends" },
            };
            foreach (var c in cases)
            {
                var path = Write(c[0], c[1]);
                var problem = Assert.Throws<KeyProblem>(() => KeysFile.Read(path), c[0]);
                StringAssert.Contains("the keys file " + path, problem.Message, c[0]);
                StringAssert.Contains(c[2], problem.Message, c[0]);
            }
            var notUtf8 = Path.Combine(folder, "latin1.json");
            File.WriteAllBytes(notUtf8, new byte[] { (byte)'{', (byte)'"', 0xe9, (byte)'"', (byte)':', (byte)'1', (byte)'}' });
            PosixFileModes.Set(notUtf8, 0x180);
            StringAssert.Contains("not UTF-8", Assert.Throws<KeyProblem>(() => KeysFile.Read(notUtf8)).Message);
            var huge = Path.Combine(folder, "huge.json");
            File.WriteAllText(huge, "{\"x\": \"" + new string('a', KeysFile.MaxBytes) + "\"}");
            PosixFileModes.Set(huge, 0x180);
            StringAssert.Contains("that is not a keys file", Assert.Throws<KeyProblem>(() => KeysFile.Read(huge)).Message);
            var missing = Path.Combine(folder, "missing.json");
            StringAssert.Contains("cannot read the keys file " + missing + ": there is no such file",
                Assert.Throws<KeyProblem>(() => KeysFile.Read(missing)).Message);
        }

        [Test]
        public void OtherJsonIsReadAsJsonAndExtraKeysAreIgnored()
        {
            var a = KeyPair.Generate();
            // escapes, whitespace, values of every kind beside the keys
            string text = " {\n\t\"comment\": \"a \\\"quoted\\\" \\u00e9 \\/ note\", \"n\": -1.5e+3, \"ok\": true, \"none\": null,\r\n" +
                          " \"nested\": {\"a\": [1, {\"b\": []}, \"c\"]}, \"secret\": \"" + a.Secret + "\", \"console_public\": null }\n";
            var keys = KeysFile.Read(Write("rich.json", text));
            Assert.AreEqual(a.Public, keys.Own.Public);
            Assert.IsFalse(keys.IsPaired);
            var parsed = FlatJson.ParseObject(text);
            Assert.AreEqual("a \"quoted\" \u00e9 / note", parsed["comment"]);
            Assert.IsNull(parsed["none"]);
            Assert.AreEqual("a number", parsed["n"].ToString());
            foreach (var bad in new[] { "{\"n\": 01}", "{\"n\": 1.}", "{\"n\": +1}", "{\"s\": \"\\x\"}", "{\"s\": \"a\nb\"}", "{'s': 1}", "{\"n\": tru}" })
                Assert.Throws<FormatException>(() => FlatJson.ParseObject(bad), bad);
        }

        [Test]
        public void TheEnvironmentVariableNamesTheKeysFile()
        {
            Environment.SetEnvironmentVariable(KeysFile.EnvironmentVariable, null);
            Assert.IsNull(KeysFile.FromEnvironment());
            var keys = new EngineKeys(KeyPair.Generate(), KeyPair.Generate().Public);
            var path = Path.Combine(folder, "env.json");
            KeysFile.Write(path, keys);
            Environment.SetEnvironmentVariable(KeysFile.EnvironmentVariable, path);
            Assert.AreEqual(path, KeysFile.PathFromEnvironment());
            Assert.AreEqual(keys.ConsolePublic, KeysFile.FromEnvironment().ConsolePublic);
            File.Delete(path);
            Assert.Throws<KeyProblem>(() => KeysFile.FromEnvironment());
        }

        [Test]
        public void ReadOrCreateMakesAPrivateKeyPairOnce()
        {
            var path = Path.Combine(folder, "new", "keys.json");
            bool created;
            var first = KeysFile.ReadOrCreate(path, true, out created);
            Assert.IsTrue(created);
            Assert.IsFalse(first.IsPaired);
            var again = KeysFile.ReadOrCreate(path, true, out created);
            Assert.IsFalse(created);
            Assert.AreEqual(first.Own.Secret, again.Own.Secret);
        }

        [TestCaseSource("PythonKeysFiles")]
        public void AFileWrittenByPythonIsRead(PythonVector v)
        {
            // fields: path, public, secret, console_public or "-"
            var keys = KeysFile.Read(v.Fields[0]);
            Assert.AreEqual(v.Fields[1], keys.Own.Public);
            Assert.AreEqual(v.Fields[2], keys.Own.Secret);
            Assert.AreEqual(v.Fields[3] == "-" ? null : v.Fields[3], keys.ConsolePublic);
        }

        [TestCaseSource("PythonRefusedFiles")]
        public void AFilePythonRefusesIsRefused(PythonVector v)
        {
            // fields: path, words both implementations say
            var problem = Assert.Throws<KeyProblem>(() => KeysFile.Read(v.Fields[0]));
            StringAssert.Contains(v.Fields[1], problem.Message);
        }

        [Test]
        public void FilesForPythonToRead()
        {
            var output = PythonVector.OutputFolder;
            if (output == null) return; // in the editor: nothing reads them
            // a generated pair, paired with the console key the Python side chose
            var console = new List<PythonVector>(PythonVector.Load("console_key"));
            Assert.AreEqual(1, console.Count);
            KeysFile.Write(Path.Combine(output, "csharp-keys.json"), new EngineKeys(KeyPair.Generate(), console[0].Fields[0]));
            KeysFile.Write(Path.Combine(output, "csharp-unpaired.json"), new EngineKeys(KeyPair.Generate()));
        }
    }
}
