using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

namespace Vrclinic.Bridge
{
    /// <summary>
    /// The engine's keys file (SPEC.md, section 10.2): JSON, readable by its owner only,
    /// <c>{"public": Z85, "secret": Z85, "console_public": Z85}</c>, console_public absent
    /// until paired. The C# twin of protocol/security.py's read_keys_file / write_keys_file:
    /// the same checks and the same words. Any thread (one file, one writer at a time).
    /// </summary>
    public static class KeysFile
    {
        /// <summary>How the conformance suite (and a launcher) hands a client its keys file.</summary>
        public const string EnvironmentVariable = "VRCLINIC_KEYS";
        /// <summary>A keys file is ~200 bytes; anything much larger is not one.</summary>
        public const int MaxBytes = 64 * 1024;
        const int GroupAndOthers = 0x3F; // 0077: any permission for the group or other users
        const int OwnerReadWrite = 0x180; // 0600

        /// <summary>The path VRCLINIC_KEYS names, or null when it is not set.</summary>
        public static string PathFromEnvironment()
        {
            var path = Environment.GetEnvironmentVariable(EnvironmentVariable);
            return string.IsNullOrEmpty(path) ? null : path;
        }

        /// <summary>The keys file VRCLINIC_KEYS names, or null when the variable is not set.
        /// KeyProblem for an unusable file.</summary>
        public static EngineKeys FromEnvironment(bool checkPermissions = true)
        {
            var path = PathFromEnvironment();
            return path == null ? null : Read(path, checkPermissions);
        }

        /// <summary>
        /// Reads a keys file; KeyProblem naming the file and what to do when it is unusable.
        /// <paramref name="checkPermissions"/>: refuse a file that other users may read, where
        /// the platform has POSIX modes (and refuse when they cannot be read there). Pass
        /// false only for storage that is private by other means and reports modes that mean
        /// nothing (Android's app storage, whose modes are emulated).
        /// </summary>
        public static EngineKeys Read(string path, bool checkPermissions = true)
        {
            if (string.IsNullOrEmpty(path)) throw new KeyProblem("no keys file named: give the path of this headset's keys file");
            if (!File.Exists(path)) throw new KeyProblem("cannot read the keys file " + path + ": there is no such file");
            if (checkPermissions) CheckOwnerOnly(path);
            string text;
            try
            {
                var info = new FileInfo(path);
                if (info.Length > MaxBytes)
                    throw new KeyProblem("the keys file " + path + " is " + info.Length + " bytes: that is not a keys file");
                text = new UTF8Encoding(false, true).GetString(File.ReadAllBytes(path));
            }
            catch (IOException exc)
            {
                throw new KeyProblem("cannot read the keys file " + path + ": " + exc.Message);
            }
            catch (UnauthorizedAccessException)
            {
                throw new KeyProblem("cannot read the keys file " + path + ": permission denied");
            }
            catch (ArgumentException) // DecoderFallbackException: not UTF-8
            {
                throw new KeyProblem("the keys file " + path + " is not readable JSON (it is not UTF-8 text)");
            }
            Dictionary<string, object> data;
            try
            {
                data = FlatJson.ParseObject(text);
            }
            catch (FormatException exc)
            {
                throw new KeyProblem("the keys file " + path + " is not readable JSON (" + exc.Message + ")");
            }
            try
            {
                var own = KeyPair.FromSecret(TextOrNull(data, "secret", "secret key"));
                var claimed = TextOrNull(data, "public", "public key");
                if (claimed != null && claimed != own.Public)
                    throw new KeyProblem("its public key does not belong to its secret key");
                var console = TextOrNull(data, "console_public", "console_public");
                return new EngineKeys(own, console == null ? null : CurveKeys.Check(console, "console_public"));
            }
            catch (KeyProblem exc)
            {
                throw new KeyProblem("the keys file " + path + ": " + exc.Message);
            }
        }

        /// <summary>Writes (or replaces) a keys file readable by its owner only: a temporary
        /// file made private before the secret goes in, then renamed over the old one.</summary>
        public static void Write(string path, EngineKeys keys)
        {
            if (keys == null) throw new ArgumentNullException("keys");
            if (string.IsNullOrEmpty(path)) throw new KeyProblem("no keys file named: give the path of this headset's keys file");
            string tmp = path + ".tmp";
            try
            {
                var folder = Path.GetDirectoryName(Path.GetFullPath(path));
                if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
                using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
                {
                    PosixFileModes.Set(tmp, OwnerReadWrite); // before the secret is written into it
                    var bytes = new UTF8Encoding(false).GetBytes(ToJson(keys));
                    stream.Write(bytes, 0, bytes.Length);
                    stream.Flush(true);
                }
                if (File.Exists(path)) File.Replace(tmp, path, null);
                else File.Move(tmp, path);
            }
            catch (IOException exc)
            {
                throw new KeyProblem("cannot write the keys file " + path + ": " + exc.Message);
            }
            catch (UnauthorizedAccessException)
            {
                throw new KeyProblem("cannot write the keys file " + path + ": permission denied");
            }
        }

        /// <summary>The keys of <paramref name="path"/>, or a new key pair written there when
        /// the file does not exist yet (<paramref name="created"/> says which).</summary>
        public static EngineKeys ReadOrCreate(string path, bool checkPermissions, out bool created)
        {
            created = !File.Exists(path);
            if (!created) return Read(path, checkPermissions);
            var keys = new EngineKeys(KeyPair.Generate());
            Write(path, keys);
            return keys;
        }

        /// <summary>The file's text, as protocol/security.py's EngineKeys.to_json writes it.</summary>
        public static string ToJson(EngineKeys keys)
        {
            var sb = new StringBuilder();
            sb.Append("{\n  \"public\": ").Append(FlatJson.Quote(keys.Own.Public));
            sb.Append(",\n  \"secret\": ").Append(FlatJson.Quote(keys.Own.Secret));
            if (keys.ConsolePublic != null) sb.Append(",\n  \"console_public\": ").Append(FlatJson.Quote(keys.ConsolePublic));
            sb.Append("\n}\n");
            return sb.ToString();
        }

        static void CheckOwnerOnly(string path)
        {
            if (!PosixFileModes.Available) return;
            int? mode;
            try
            {
                mode = PosixFileModes.Get(path);
            }
            catch (IOException exc)
            {
                throw new KeyProblem("cannot read the keys file " + path + ": " + exc.Message);
            }
            if (!mode.HasValue)
                throw new KeyProblem("cannot check who may read the keys file " + path + " on this system (" +
                                     PosixFileModes.SystemName + "): keep it in the app's private storage, readable " +
                                     "by its owner only, and turn the permission check off for this platform");
            if ((mode.Value & GroupAndOthers) != 0)
                throw new KeyProblem("the keys file " + path + " can be read by other users of this computer; " +
                                     "it holds a secret key: run  chmod 600 " + path + "  and try again");
        }

        static string TextOrNull(Dictionary<string, object> data, string key, string what)
        {
            object value;
            if (!data.TryGetValue(key, out value) || value == null) return null;
            var text = value as string;
            if (text == null) throw new KeyProblem("the " + what + " must be 40 characters of Z85 (a CURVE key), got " + value);
            return text;
        }
    }

    /// <summary>
    /// A small strict JSON reader (RFC 8259) for one flat object, enough for the keys file
    /// without a JSON library (UnityEngine's JsonUtility is not available in the core):
    /// top-level string and null values are returned; numbers, booleans, arrays and objects
    /// are read, checked and returned as <see cref="NotText"/>. Duplicate keys, trailing
    /// commas, comments and nesting deeper than 32 are refused.
    /// </summary>
    public static class FlatJson
    {
        /// <summary>Stands for a value that is not a string (its kind in words).</summary>
        public sealed class NotText
        {
            public readonly string Kind;

            public NotText(string kind) { Kind = kind; }

            public override string ToString() { return Kind; }
        }

        const int MaxDepth = 32;

        public static Dictionary<string, object> ParseObject(string text)
        {
            int at = 0;
            SkipSpace(text, ref at);
            if (at >= text.Length || text[at] != '{') throw Error("a JSON object must start with {", at);
            var result = new Dictionary<string, object>(StringComparer.Ordinal);
            at++;
            SkipSpace(text, ref at);
            if (Peek(text, at) == '}')
            {
                at++;
            }
            else
            {
                while (true)
                {
                    SkipSpace(text, ref at);
                    if (Peek(text, at) != '"') throw Error("expected a key in double quotes", at);
                    int keyAt = at;
                    string key = ReadString(text, ref at);
                    SkipSpace(text, ref at);
                    if (Peek(text, at) != ':') throw Error("expected : after a key", at);
                    at++;
                    SkipSpace(text, ref at);
                    object value = ReadValue(text, ref at, 1);
                    if (result.ContainsKey(key)) throw Error("the key \"" + key + "\" appears twice", keyAt);
                    result[key] = value;
                    SkipSpace(text, ref at);
                    char c = Peek(text, at);
                    at++;
                    if (c == '}') break;
                    if (c != ',') throw Error("expected , or } after a value", at - 1);
                }
            }
            SkipSpace(text, ref at);
            if (at != text.Length) throw Error("text after the end of the object", at);
            return result;
        }

        /// <summary>A JSON string literal.</summary>
        public static string Quote(string value)
        {
            var sb = new StringBuilder(value.Length + 2);
            sb.Append('"');
            foreach (char c in value)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    default:
                        if (c < 0x20 || c > 0x7e) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else sb.Append(c);
                        break;
                }
            }
            return sb.Append('"').ToString();
        }

        static FormatException Error(string what, int at)
        {
            return new FormatException(what + " at character " + (at + 1));
        }

        static char Peek(string text, int at) { return at < text.Length ? text[at] : '\0'; }

        static void SkipSpace(string text, ref int at)
        {
            while (at < text.Length && (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r')) at++;
        }

        static object ReadValue(string text, ref int at, int depth)
        {
            if (depth > MaxDepth) throw Error("nested deeper than " + MaxDepth, at);
            char c = Peek(text, at);
            if (c == '"') return ReadString(text, ref at);
            if (c == '{' || c == '[')
            {
                char close = c == '{' ? '}' : ']';
                at++;
                SkipSpace(text, ref at);
                if (Peek(text, at) == close)
                {
                    at++;
                    return new NotText(c == '{' ? "an object" : "a list");
                }
                while (true)
                {
                    SkipSpace(text, ref at);
                    if (c == '{')
                    {
                        if (Peek(text, at) != '"') throw Error("expected a key in double quotes", at);
                        ReadString(text, ref at);
                        SkipSpace(text, ref at);
                        if (Peek(text, at) != ':') throw Error("expected : after a key", at);
                        at++;
                        SkipSpace(text, ref at);
                    }
                    ReadValue(text, ref at, depth + 1);
                    SkipSpace(text, ref at);
                    char next = Peek(text, at);
                    at++;
                    if (next == close) return new NotText(c == '{' ? "an object" : "a list");
                    if (next != ',') throw Error("expected , or " + close, at - 1);
                }
            }
            if (Literal(text, ref at, "true") || Literal(text, ref at, "false")) return new NotText("true or false");
            if (Literal(text, ref at, "null")) return null;
            if (c == '-' || (c >= '0' && c <= '9'))
            {
                ReadNumber(text, ref at);
                return new NotText("a number");
            }
            throw Error("expected a value", at);
        }

        static bool Literal(string text, ref int at, string word)
        {
            if (string.CompareOrdinal(text, at, word, 0, word.Length) != 0) return false;
            at += word.Length;
            return true;
        }

        static void ReadNumber(string text, ref int at)
        {
            int start = at;
            if (Peek(text, at) == '-') at++;
            if (Peek(text, at) == '0') at++;
            else if (!Digits(text, ref at)) throw Error("a number needs digits", start);
            if (Peek(text, at) == '.')
            {
                at++;
                if (!Digits(text, ref at)) throw Error("a number needs digits after .", start);
            }
            char e = Peek(text, at);
            if (e == 'e' || e == 'E')
            {
                at++;
                if (Peek(text, at) == '+' || Peek(text, at) == '-') at++;
                if (!Digits(text, ref at)) throw Error("a number needs digits in its exponent", start);
            }
        }

        static bool Digits(string text, ref int at)
        {
            int start = at;
            while (at < text.Length && text[at] >= '0' && text[at] <= '9') at++;
            return at > start;
        }

        static string ReadString(string text, ref int at)
        {
            int start = at;
            at++; // the opening quote
            var sb = new StringBuilder();
            while (true)
            {
                if (at >= text.Length) throw Error("a string that never ends", start);
                char c = text[at++];
                if (c == '"') return sb.ToString();
                if (c < 0x20) throw Error("a control character inside a string", at - 1);
                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }
                char esc = Peek(text, at);
                at++;
                switch (esc)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        int code;
                        if (at + 4 > text.Length ||
                            !int.TryParse(text.Substring(at, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out code))
                            throw Error("\\u needs four hex digits", at - 2);
                        sb.Append((char)code);
                        at += 4;
                        break;
                    default:
                        throw Error("an unknown escape \\" + esc, at - 2);
                }
            }
        }
    }
}
