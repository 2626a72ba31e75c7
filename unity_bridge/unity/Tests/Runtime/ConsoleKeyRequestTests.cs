using System.Collections.Generic;
using NUnit.Framework;
using Vrclinic.Protocol;
using ConsoleKey = Vrclinic.Protocol.ConsoleKey;

namespace Vrclinic.Bridge.Tests
{
    /// <summary>Asking the console's pairing port for its key, over the in-memory transport
    /// with a hand-driven clock; the test plays the pairing port.</summary>
    [TestFixture]
    public class ConsoleKeyRequestTests
    {
        const string Endpoint = "tcp://192.168.1.20:5556";
        readonly ManualClock clock = new ManualClock { Now = 10.0 };
        readonly InMemoryTransport port = new InMemoryTransport();
        readonly KeyPair own = KeyPair.Generate();
        readonly KeyPair console = KeyPair.Generate();
        readonly List<string> events = new List<string>();
        long nextId = 1;

        ConsoleKeyRequest Start(string name = "room-2-quest")
        {
            var request = new ConsoleKeyRequest(port, clock, Endpoint, name, own.Public);
            request.KeyReceived += (answer, code) => events.Add("key " + answer.ConsoleName + " " + code);
            request.PairingNotOpen += (answer, text) => events.Add("not open: " + text);
            request.Failed += text => events.Add("failed: " + text);
            return request;
        }

        List<KeyRequest> Requests()
        {
            var all = new List<KeyRequest>();
            foreach (var frame in port.TakeSent()) all.Add((KeyRequest)Codec.Decode(frame, Role.Console).Message);
            return all;
        }

        void Answer(bool open, string key = null)
        {
            port.Deliver(Codec.Encode(new ConsoleKey { PublicKey = key ?? console.Public, ConsoleName = "room-2-console", PairingOpen = open },
                                      nextId++));
        }

        [Test]
        public void TheRequestCarriesTheNameAndThePublicKeyNeverTheSecret()
        {
            Start(new string('n', 80));
            var sent = Requests();
            Assert.AreEqual(1, sent.Count);
            Assert.AreEqual(own.Public, sent[0].PublicKey);
            Assert.AreEqual(64, sent[0].Name.Length, "clipped to the field's 64 characters");
        }

        [Test]
        public void AnOpenConsoleGivesItsKeyAndTheCodeBothSidesShow()
        {
            var request = Start();
            Requests();
            Answer(true);
            request.Poll();
            string code = Pairing.Code(console.Public, own.Public);
            Assert.AreEqual(new[] { "key room-2-console " + code }, events);
            Assert.AreEqual(KeyRequestState.Answered, request.State);
            Assert.AreEqual(console.Public, request.Answer.PublicKey);
            Assert.AreEqual(code, request.Code);
            clock.Advance(10);
            request.Poll();
            Assert.AreEqual(0, Requests().Count, "done: nothing more is sent");
        }

        [Test]
        public void WhilePairingIsNotOpenItSaysSoOnceAndAsksAgainEverySecond()
        {
            var request = Start();
            Requests();
            Answer(false);
            request.Poll();
            Assert.AreEqual(new[] { "not open: pairing is not open on room-2-console: on the console open Devices, Pair a headset" }, events);
            Assert.AreEqual(KeyRequestState.PairingNotOpen, request.State);
            clock.Advance(0.9);
            request.Poll();
            Assert.AreEqual(0, Requests().Count, "not again within a second");
            clock.Advance(0.11);
            request.Poll();
            Assert.AreEqual(1, Requests().Count);
            for (int i = 0; i < 8; i++)
            {
                Answer(false);
                clock.Advance(1.001);
                request.Poll();
                Assert.AreEqual(1, Requests().Count, "once a second while the console answers");
            }
            Assert.AreEqual(1, events.Count, "said once");
            Answer(true);
            request.Poll();
            Assert.AreEqual("key room-2-console " + Pairing.Code(console.Public, own.Public), events[1]);
        }

        [Test]
        public void NoAnswerWithinTheTimeoutFailsInWords()
        {
            var request = Start();
            clock.Advance(4.9);
            request.Poll();
            Assert.AreEqual(0, events.Count);
            clock.Advance(0.2);
            request.Poll();
            Assert.AreEqual(KeyRequestState.Failed, request.State);
            Assert.AreEqual(new[]
            {
                "failed: no answer from the console's pairing port " + Endpoint + " within 5 s: check the console's address and that it is running",
            }, events);
        }

        [Test]
        public void UnusableAnswersFailInWords()
        {
            var cases = new Dictionary<string, System.Action>
            {
                { "answered something unreadable", () => port.Deliver(new byte[] { 0xc1 }) },
                { "refused the request (invalid_field): bad key", () => port.Deliver(Codec.Encode(new Error { Code = ErrorCode.InvalidField, Text = "bad key" }, 1)) },
                { "answered with an unusable key", () => Answer(true, new string('#', 40)) },
                { "did not answer with the console's key (it sent heartbeat)", () => port.Deliver(Codec.Encode(new Heartbeat { Seq = 1, SentAt = 1 }, 1)) },
            };
            foreach (var c in cases)
            {
                events.Clear();
                var request = Start();
                c.Value();
                request.Poll();
                Assert.AreEqual(KeyRequestState.Failed, request.State, c.Key);
                Assert.AreEqual(1, events.Count, c.Key);
                StringAssert.Contains(c.Key, events[0]);
                StringAssert.Contains(Endpoint, events[0]);
            }
        }

        [Test]
        public void DisposeClosesThePort()
        {
            Start().Dispose();
            Assert.IsTrue(port.Disposed);
        }
    }
}
