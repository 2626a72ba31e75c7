using System.Collections.Generic;
using NUnit.Framework;
using Vrclinic.Protocol;

namespace Vrclinic.Bridge.Tests
{
    /// <summary>The codec against protocol/vectors/golden.json (as GoldenVectors.g.cs).</summary>
    [TestFixture]
    public class GoldenVectorTests
    {
        static IEnumerable<ValidVector> ValidVectors() { return GoldenVectors.Valid; }

        static IEnumerable<InvalidVector> InvalidVectors() { return GoldenVectors.Invalid; }

        static Role RoleOf(string receiver) { return receiver == "console" ? Role.Console : Role.Engine; }

        [Test]
        public void EveryMessageTypeHasVectorsOfThisVersion()
        {
            Assert.AreEqual(ProtocolVersion.Text, GoldenVectors.Protocol);
            var covered = new HashSet<string>();
            foreach (var v in GoldenVectors.Valid) covered.Add(v.Type);
            Assert.AreEqual(Codec.MessageTypes.Length, covered.Count);
            foreach (var type in Codec.MessageTypes) Assert.IsTrue(covered.Contains(type), type + " has no vector");
            Assert.Greater(GoldenVectors.Invalid.Length, 10);
        }

        [TestCaseSource("ValidVectors")]
        public void ValidVectorDecodesToItsValueAndReencodes(ValidVector vector)
        {
            var frame = Hex.Decode(vector.Hex);
            var received = Codec.Decode(frame, RoleOf(vector.Receiver));
            Assert.IsNotNull(received);
            Assert.AreEqual(vector.Type, received.Message.TypeName);
            Assert.AreEqual(0, received.IgnoredFields.Count);
            // Every decoded field (defaults included) re-encoded canonically gives the bytes
            // of the vector's value: decoding lost or changed nothing.
            var reencoded = Codec.Encode(received.Message, received.Id);
            Assert.AreEqual(vector.CanonicalHex, Hex.Encode(reencoded));
            if (vector.Reencode) Assert.AreEqual(vector.Hex, Hex.Encode(reencoded));
        }

        [TestCaseSource("InvalidVectors")]
        public void InvalidVectorIsRefusedWithItsCode(InvalidVector vector)
        {
            var caught = Assert.Throws<ProtocolException>(() => Codec.Decode(Hex.Decode(vector.Hex), RoleOf(vector.Receiver)));
            Assert.AreEqual(vector.Error, EnumWire.ToWire(caught.Code), caught.Message);
            // The error message for the peer is itself a valid message.
            var error = caught.ToError();
            var back = (Error)Codec.Decode(Codec.Encode(error, 1), Role.Console).Message;
            Assert.AreEqual(error.Code, back.Code);
            Assert.AreEqual(error.Text, back.Text);
            Assert.AreEqual(error.RefId, back.RefId);
        }

        [Test]
        public void ErrorsNameTheMessageAndTheFieldAndReferToTheId()
        {
            var w = new MsgPackWriter();
            w.WriteMapHeader(4);
            w.WriteString("type"); w.WriteString("set_parameter");
            w.WriteString("id"); w.WriteInt(41);
            w.WriteString("name"); w.WriteString("distance");
            w.WriteString("value"); w.WriteString("far");
            var caught = Assert.Throws<ProtocolException>(() => Codec.Decode(w.ToArray(), Role.Engine));
            Assert.AreEqual(ErrorCode.InvalidField, caught.Code);
            Assert.AreEqual("set_parameter", caught.MsgType);
            Assert.AreEqual("value", caught.Field);
            Assert.AreEqual(41L, caught.RefId);
            StringAssert.Contains("set_parameter.value: expected a number", caught.Message);
        }
    }
}
