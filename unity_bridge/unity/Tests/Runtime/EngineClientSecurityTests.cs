using System.Collections.Generic;
using NUnit.Framework;
using Vrclinic.Protocol;

namespace Vrclinic.Bridge.Tests
{
    /// <summary>Protocol 1.1 in the client: refusals for pairing and revocation (the scene made
    /// safe first), a refused handshake said once, heartbeat numbers per connection, and no
    /// heartbeat number that can wedge the link.</summary>
    [TestFixture]
    public class EngineClientSecurityTests
    {
        const long MaxSeq = 9007199254740991L; // 2^53 - 1, the largest seq the protocol allows

        static List<T> Of<T>(IEnumerable<Received> all) where T : ProtocolMessage { return TestConsole.Of<T>(all); }

        [Test]
        public void ARevokedHeadsetMakesItsSceneSafeThenStopsForGood()
        {
            var rig = new Rig();
            var texts = new List<string>();
            rig.Client.Refused += (reason, text) => texts.Add(text);
            rig.Connect();
            rig.Run(0.3, true);
            rig.Console.Send(new Bye { Reason = ByeReason.Revoked, Text = "This headset was removed from the console's devices." });
            rig.Poll();
            Assert.AreEqual(new[] { "connected", "gone", "make_safe watchdog", "refused revoked" }, rig.Events);
            Assert.AreEqual(new[] { "This headset was removed from the console's devices." }, texts);
            Assert.AreEqual(LinkState.Refused, rig.Client.State);
            rig.Sent.Clear();
            rig.Run(3.0, true);
            Assert.AreEqual(0, rig.Sent.Count, "nothing more: no heartbeat, no hello, no error");
            Assert.AreEqual(4, rig.Events.Count, "and nothing more to say");
        }

        [Test]
        public void EveryReasonThatStopsTheLinkStopsIt()
        {
            var reasons = new[] { ByeReason.NotPaired, ByeReason.Revoked, ByeReason.Refused, ByeReason.DuplicateName, ByeReason.VersionMismatch };
            foreach (var reason in reasons)
            {
                // while waiting for the technician (not connected yet): no scene to calm, just stop
                var rig = new Rig();
                rig.Poll();
                rig.Console.Send(new Bye { Reason = reason, Text = "declined" });
                rig.Poll();
                string wire = EnumWire.ToWire(reason);
                Assert.AreEqual(new[] { "refused " + wire }, rig.Events, wire);
                Assert.AreEqual(LinkState.Refused, rig.Client.State, wire);
                rig.Clock.Advance(1.0);
                Assert.AreEqual(0, rig.Poll().Count, wire + ": no more hellos");
            }
        }

        [Test]
        public void NotPairedWhileConnectedIsARefusalAfterTheTrip()
        {
            var rig = new Rig();
            rig.Connect();
            rig.Console.Send(new Bye { Reason = ByeReason.NotPaired, Text = "The technician declined the pairing." });
            rig.Poll();
            Assert.AreEqual(new[] { "connected", "gone", "make_safe watchdog", "refused not_paired" }, rig.Events);
        }

        [Test]
        public void ARefusedHandshakeIsSaidOnceAndTheClientKeepsTrying()
        {
            var rig = new Rig();
            string said = null;
            rig.Client.Refused += (reason, text) => said = text;
            rig.Poll();
            rig.Console.Transport.RefuseHandshake();
            rig.Clock.Advance(0.3);
            rig.Poll();
            Assert.AreEqual(new[] { "refused not_admitted" }, rig.Events);
            StringAssert.Contains("not paired with that console", said);
            StringAssert.Contains("open Devices, Pair a headset", said);
            Assert.AreEqual(LinkState.Connecting, rig.Client.State, "keeps trying: it connects once paired");
            for (int i = 0; i < 5; i++)
            {
                rig.Console.Transport.RefuseHandshake();
                rig.Clock.Advance(0.3);
                rig.Poll();
            }
            Assert.AreEqual(1, rig.Events.Count, "once, not at every reconnection attempt");
            Assert.Greater(Of<Hello>(rig.Sent).Count, 5);
            rig.Console.Welcome(rig.LastHello());
            rig.Poll();
            Assert.AreEqual(LinkState.Connected, rig.Client.State);
            // once through, a later refusal is news again
            rig.Console.Transport.RefuseHandshake();
            rig.Poll();
            Assert.AreEqual(new[] { "refused not_admitted", "connected", "refused not_admitted" }, rig.Events);
        }

        [Test]
        public void HeartbeatsAreNumberedFromZeroOnEveryNewConnection()
        {
            var rig = new Rig();
            rig.Connect();
            rig.Run(1.0, true);
            var first = Of<Heartbeat>(rig.Sent);
            Assert.AreEqual(0L, first[0].Seq);
            Assert.Greater(first[first.Count - 1].Seq, 5);
            // a repeated welcome on the same connection (it crossed our hello): the numbering goes on
            long before = first[first.Count - 1].Seq;
            rig.Console.Welcome(rig.LastHello());
            rig.Sent.Clear();
            rig.Run(0.3, true);
            Assert.AreEqual(before + 1, Of<Heartbeat>(rig.Sent)[0].Seq);
            // lost, then welcomed again: a new connection, numbered from 0
            rig.Run(2.1, false);
            Assert.AreEqual(LinkState.Connecting, rig.Client.State);
            rig.Console.Welcome(rig.LastHello());
            rig.Sent.Clear();
            rig.Run(0.5, true);
            var again = Of<Heartbeat>(rig.Sent);
            Assert.AreEqual(0L, again[0].Seq);
            for (int i = 1; i < again.Count; i++) Assert.AreEqual(again[i - 1].Seq + 1, again[i].Seq);
        }

        [Test]
        public void TheLargestSeqDoesNotWedgeTheLinkAfterTheNextWelcome()
        {
            var rig = new Rig();
            rig.Connect();
            rig.Console.Beat(MaxSeq);
            rig.Poll();
            // the console starts over on a new connection (same session): its beats count from 0 again
            rig.Run(2.1, false);
            rig.Console.Welcome(rig.LastHello());
            rig.Console.NextBeatSeq = 0;
            rig.Run(2.0, true);
            Assert.AreEqual(new[] { "connected", "gone", "make_safe watchdog", "back", "connected resumed" }, rig.Events);
            Assert.IsFalse(rig.Client.IsConsoleGone);
            Assert.AreEqual(LinkState.Connected, rig.Client.State);
        }

        [Test]
        public void AWelcomeWhileConnectedAlsoRestartsTheConsolesNumbering()
        {
            var rig = new Rig();
            rig.Connect();
            rig.Console.Beat(MaxSeq);
            rig.Poll();
            rig.Console.Welcome(rig.LastHello());
            rig.Console.NextBeatSeq = 0;
            rig.Run(2.0, true);
            Assert.AreEqual(new[] { "connected", "connected resumed" }, rig.Events);
        }

        [Test]
        public void AfterARefusalAPersonCanStartOverAndTheNewConnectionIsNumberedFromZero()
        {
            var rig = new Rig();
            rig.Connect();
            rig.Run(0.5, true);
            rig.Console.Send(new Bye { Reason = ByeReason.NotPaired, Text = "declined" });
            rig.Poll();
            Assert.AreEqual(LinkState.Refused, rig.Client.State);
            rig.Clock.Advance(1.0);
            Assert.AreEqual(0, rig.Poll().Count);
            rig.Client.StartOver("paired again");
            Assert.AreEqual(LinkState.Connecting, rig.Client.State);
            Assert.AreEqual(1, Of<Hello>(rig.Poll()).Count, "hello at once");
            rig.Console.Welcome(rig.LastHello());
            rig.Sent.Clear();
            rig.Run(0.3, true);
            Assert.AreEqual(LinkState.Connected, rig.Client.State);
            Assert.AreEqual(0L, Of<Heartbeat>(rig.Sent)[0].Seq);
            Assert.IsFalse(rig.Client.IsConsoleGone, "the console's beats count: back");
        }

        [Test]
        public void StartingOverWhileConnectedMakesTheSceneSafeFirst()
        {
            var rig = new Rig();
            rig.Connect();
            rig.Client.StartOver("pairing with another console");
            Assert.AreEqual(new[] { "connected", "gone", "make_safe watchdog" }, rig.Events);
            Assert.AreEqual(LinkState.Connecting, rig.Client.State);
            Assert.AreEqual(1, Of<Hello>(rig.Poll()).Count);
        }

        [Test]
        public void ASwappableTransportDropsWithoutAConnectionAndDisposesTheOneItReplaces()
        {
            var first = new InMemoryTransport();
            var second = new InMemoryTransport();
            var swap = new SwappableTransport();
            byte[] frame;
            Assert.IsFalse(swap.TrySend(new byte[] { 1 }), "no connection: dropped");
            Assert.IsFalse(swap.TryReceive(out frame));
            Assert.IsFalse(swap.TakeHandshakeRefused());
            swap.Inner = first;
            Assert.IsTrue(swap.TrySend(new byte[] { 2 }));
            Assert.AreEqual(1, first.TakeSent().Count);
            first.Deliver(new byte[] { 3 });
            Assert.IsTrue(swap.TryReceive(out frame));
            Assert.AreEqual(3, frame[0]);
            first.RefuseHandshake();
            Assert.IsTrue(swap.TakeHandshakeRefused());
            swap.Inner = second;
            Assert.IsTrue(first.Disposed);
            Assert.IsFalse(second.Disposed);
            swap.Inner = null;
            Assert.IsTrue(second.Disposed);
            swap.Inner = first;
            swap.Dispose();
            Assert.Throws<System.ObjectDisposedException>(() => swap.TrySend(new byte[] { 4 }));
        }

        [Test]
        public void FloodingMakesTheSceneSafeAndTheHelloWaitsTenSeconds()
        {
            var rig = new Rig();
            rig.Connect();
            rig.Console.Send(new Bye { Reason = ByeReason.Flooding, Text = "too many messages" });
            rig.Sent.Clear();
            rig.Poll();
            Assert.AreEqual(new[] { "connected", "gone", "make_safe watchdog" }, rig.Events);
            Assert.AreEqual(LinkState.Connecting, rig.Client.State);
            rig.Run(9.9, false);
            Assert.AreEqual(0, Of<Hello>(rig.Sent).Count, "the console drops everything from us for 10 s");
            rig.Run(0.2, false);
            Assert.AreEqual(1, Of<Hello>(rig.Sent).Count);
        }
    }
}
