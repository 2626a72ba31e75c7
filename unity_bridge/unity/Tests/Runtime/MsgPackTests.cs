using System.Collections.Generic;
using NUnit.Framework;
using Vrclinic.Protocol;

namespace Vrclinic.Bridge.Tests
{
    /// <summary>The msgpack reader/writer: Python's forms, and the limits checked before allocating.</summary>
    [TestFixture]
    public class MsgPackTests
    {
        static byte[] Frame(params object[] keysAndValues)
        {
            var w = new MsgPackWriter();
            w.WriteMapHeader(keysAndValues.Length / 2);
            for (int i = 0; i < keysAndValues.Length; i += 2)
            {
                w.WriteString((string)keysAndValues[i]);
                var v = keysAndValues[i + 1];
                if (v is string) w.WriteString((string)v);
                else if (v is int) w.WriteInt((int)v);
                else if (v is long) w.WriteInt((long)v);
                else if (v is double) w.WriteFloat64((double)v);
                else if (v is bool) w.WriteBool((bool)v);
                else if (v is byte[]) w.WriteBinary((byte[])v);
                else Assert.Fail("unsupported " + v);
            }
            return w.ToArray();
        }

        static string IntHex(long value)
        {
            var w = new MsgPackWriter();
            w.WriteInt(value);
            return Hex.Encode(w.ToArray());
        }

        [Test]
        public void IntegersUseTheSmallestFormLikeMsgpackPython()
        {
            var expected = new Dictionary<long, string>
            {
                { 0, "00" }, { 127, "7f" }, { 128, "cc80" }, { 255, "ccff" }, { 256, "cd0100" }, { 65535, "cdffff" },
                { 65536, "ce00010000" }, { 4294967295, "ceffffffff" }, { 4294967296, "cf0000000100000000" },
                { -1, "ff" }, { -32, "e0" }, { -33, "d0df" }, { -128, "d080" }, { -129, "d1ff7f" },
                { -32768, "d18000" }, { -32769, "d2ffff7fff" }, { -2147483648, "d280000000" },
                { -2147483649, "d3ffffffff7fffffff" },
            };
            foreach (var kv in expected) Assert.AreEqual(kv.Value, IntHex(kv.Key), "encoding " + kv.Key);
        }

        [Test]
        public void StringAndBinaryHeaders()
        {
            var w = new MsgPackWriter();
            w.WriteString(new string('a', 31));
            Assert.AreEqual("bf", Hex.Encode(w.ToArray()).Substring(0, 2));
            w.Clear();
            w.WriteString(new string('a', 32));
            Assert.AreEqual("d920", Hex.Encode(w.ToArray()).Substring(0, 4));
            w.Clear();
            w.WriteString(new string('a', 256));
            Assert.AreEqual("da0100", Hex.Encode(w.ToArray()).Substring(0, 6));
            w.Clear();
            w.WriteString("\u00e9");
            Assert.AreEqual("a2c3a9", Hex.Encode(w.ToArray()));
            w.Clear();
            w.WriteBinary(new byte[] { 1, 2 });
            Assert.AreEqual("c4020102", Hex.Encode(w.ToArray()));
            w.Clear();
            w.WriteFloat64(1.5);
            Assert.AreEqual("cb3ff8000000000000", Hex.Encode(w.ToArray()));
        }

        [Test]
        public void IntegerAndFloat32AreAcceptedWhereAFloatIsDeclared()
        {
            var frame = Frame("type", "set_parameter", "id", 3, "name", "distance", "value", 2);
            var msg = (SetParameter)Codec.Decode(frame, Role.Engine).Message;
            Assert.AreEqual(2.0, msg.Value);
            // float32 1.5 = ca 3fc00000
            var w = new MsgPackWriter();
            w.WriteMapHeader(4);
            w.WriteString("type"); w.WriteString("set_parameter");
            w.WriteString("id"); w.WriteInt(3);
            w.WriteString("name"); w.WriteString("distance");
            w.WriteString("value");
            var bytes = new List<byte>(w.ToArray());
            bytes.AddRange(new byte[] { 0xca, 0x3f, 0xc0, 0x00, 0x00 });
            Assert.AreEqual(1.5, ((SetParameter)Codec.Decode(bytes.ToArray(), Role.Engine).Message).Value);
        }

        [Test]
        public void AFloatWhereAnIntegerIsDeclaredIsRefused()
        {
            var frame = Frame("type", "mirror_ack", "id", 3, "seq", 1.0, "received_at", 2.0);
            var caught = Assert.Throws<ProtocolException>(() => Codec.Decode(frame, Role.Engine));
            Assert.AreEqual(ErrorCode.InvalidField, caught.Code);
            Assert.AreEqual("seq", caught.Field);
        }

        [Test]
        public void LengthHeadersOverTheLimitsAreRefusedUnread()
        {
            // str8 header of 200 bytes in a frame that has them: fine; a str16 claiming 5000 bytes
            // that are there: too_large; the same header with the bytes missing: malformed.
            var big = new List<byte> { 0x81, 0xa4, (byte)'t', (byte)'y', (byte)'p', (byte)'e', 0xda, 0x13, 0x88 };
            var withData = new List<byte>(big);
            withData.AddRange(new byte[5000]);
            Assert.AreEqual(ErrorCode.TooLarge,
                Assert.Throws<ProtocolException>(() => Codec.Decode(withData.ToArray(), Role.Engine)).Code);
            Assert.AreEqual(ErrorCode.Malformed,
                Assert.Throws<ProtocolException>(() => Codec.Decode(big.ToArray(), Role.Engine)).Code);
            // map16 of 65 entries, array16 of 1025 items: too_large from the header alone
            Assert.AreEqual(ErrorCode.TooLarge,
                Assert.Throws<ProtocolException>(() => Codec.Decode(Hex.Decode("de0041"), Role.Engine)).Code);
            Assert.AreEqual(ErrorCode.TooLarge,
                Assert.Throws<ProtocolException>(() => Codec.Decode(Hex.Decode("81a474797065dc0401"), Role.Engine)).Code);
            // an extension type
            Assert.AreEqual(ErrorCode.TooLarge,
                Assert.Throws<ProtocolException>(() => Codec.Decode(Hex.Decode("81a474797065d40102"), Role.Engine)).Code);
        }

        [Test]
        public void BadBytesAreMalformed()
        {
            foreach (var hex in new[] { "c1", "81a474797065a2c328", "8101a3616263", "81a474797065" })
            {
                var caught = Assert.Throws<ProtocolException>(() => Codec.Decode(Hex.Decode(hex), Role.Engine));
                Assert.AreEqual(ErrorCode.Malformed, caught.Code, hex + ": " + caught.Message);
            }
        }

        [Test]
        public void EncodingChecksOurOwnMessages()
        {
            var tooFar = new SetParameter { Name = "distance", Value = 1.0, RampS = -1.0 };
            var caught = Assert.Throws<ProtocolException>(() => Codec.Encode(tooFar, 1));
            Assert.AreEqual(ErrorCode.OutOfRange, caught.Code, "a number outside min..max is out_of_range, as in Python");
            Assert.AreEqual("set_parameter.ramp_s: -1.0 is below the minimum 0.0", caught.Message);
            Assert.AreEqual(ErrorCode.InvalidField,
                Assert.Throws<ProtocolException>(() => Codec.Encode(new SetParameter { Name = "d", Value = double.NaN }, 1)).Code);
            Assert.AreEqual(ErrorCode.TooLarge,
                Assert.Throws<ProtocolException>(() => Codec.Encode(new SetParameter { Name = new string('x', 65), Value = 1 }, 1)).Code);
            var telemetry = new Telemetry { At = 1, Fps = 72, HeadPosition = new List<double> { 0, 1.6 } };
            telemetry.HeadRotation.AddRange(new double[] { 0, 0, 0, 1 });
            caught = Assert.Throws<ProtocolException>(() => Codec.Encode(telemetry, 1));
            Assert.AreEqual("head_position", caught.Field);
            Assert.AreEqual(ErrorCode.InvalidField,
                Assert.Throws<ProtocolException>(() => Codec.Encode(new Hello { Name = null }, 1)).Code);
        }

        [Test]
        public void ANewerPeersUnknownFieldsAndTypesAreIgnoredAndCounted()
        {
            var frame = Frame("type", "set_parameter", "id", 3, "name", "distance", "value", 1.0, "colour", "red");
            var strict = new Decoder(Role.Engine) { PeerMinor = ProtocolVersion.Minor };
            Assert.AreEqual(ErrorCode.InvalidField, Assert.Throws<ProtocolException>(() => strict.Decode(frame)).Code);
            var newer = new Decoder(Role.Engine) { PeerMinor = ProtocolVersion.Minor + 1 };
            var received = newer.Decode(frame);
            Assert.AreEqual("distance", ((SetParameter)received.Message).Name);
            Assert.AreEqual(new[] { "colour" }, received.IgnoredFields);
            Assert.AreEqual(1, newer.IgnoredFields);
            Assert.IsNull(newer.Decode(Frame("type", "teleport", "id", 4)));
            Assert.AreEqual(1, newer.IgnoredTypes);
            Assert.AreEqual(ErrorCode.UnknownType,
                Assert.Throws<ProtocolException>(() => strict.Decode(Frame("type", "teleport", "id", 4))).Code);
        }

        [Test]
        public void BeforeTheVersionIsKnownOnlyAnotherVersionsWelcomeMayCarryUnknownFields()
        {
            var welcome = Frame("type", "welcome", "id", 1, "protocol_major", 2, "protocol_minor", 0,
                "console_name", "c", "session_id", "s", "heartbeat_interval_ms", 100, "watchdog_timeout_ms", 500,
                "sent_at", 1.0, "echo_sent_at", 1.0, "echo_received_at", 1.0, "new_in_v2", true);
            var received = new Decoder(Role.Engine).Decode(welcome);
            Assert.AreEqual(2L, ((Welcome)received.Message).ProtocolMajor);
            var sameVersion = Frame("type", "make_safe", "id", 1, "surprise", 1);
            Assert.AreEqual(ErrorCode.InvalidField,
                Assert.Throws<ProtocolException>(() => new Decoder(Role.Engine).Decode(sameVersion)).Code);
        }

        [Test]
        public void RepeatedKeysKeepTheLastValueAsPythonDoes()
        {
            var frame = Frame("type", "set_parameter", "id", 3, "name", "a", "value", 1.0, "name", "b");
            var msg = (SetParameter)Codec.Decode(frame, Role.Engine).Message;
            Assert.AreEqual("b", msg.Name);
        }
    }
}
