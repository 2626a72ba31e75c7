using System;
using System.Collections.Generic;
using NUnit.Framework;
using Vrclinic.Protocol;

namespace Vrclinic.Bridge.Tests
{
    /// <summary>The client's state machine over the in-memory transport, with a hand-driven clock.</summary>
    [TestFixture]
    public class EngineClientTests
    {
        static List<T> Of<T>(IEnumerable<Received> all) where T : ProtocolMessage { return TestConsole.Of<T>(all); }

        [Test]
        public void HelloIsSentAtOnceAndRetriedUntilAWelcome()
        {
            var rig = new Rig();
            var first = rig.Poll();
            Assert.AreEqual(1, first.Count);
            var hello = (Hello)first[0].Message;
            Assert.AreEqual("room-2-quest", hello.Name);
            Assert.AreEqual((long)ProtocolVersion.Major, hello.ProtocolMajor);
            Assert.AreEqual(16, hello.InstanceId.Length);
            Assert.IsFalse(hello.Resumed);
            rig.Clock.Advance(0.2);
            Assert.AreEqual(0, rig.Poll().Count);
            // before the welcome nothing but hello and bye leaves the engine
            rig.Client.Send(new Marker { Label = "too early", At = 1 });
            Assert.AreEqual(0, rig.Poll().Count);
            rig.Clock.Advance(0.06);
            var again = rig.Poll();
            Assert.AreEqual(1, Of<Hello>(again).Count);
            Assert.AreEqual(hello.InstanceId, Of<Hello>(again)[0].InstanceId);
            Assert.AreEqual(LinkState.Connecting, rig.Client.State);
        }

        [Test]
        public void WelcomeConnectsSendsTheCatalogueAndStartsBeating()
        {
            var rig = new Rig();
            rig.Client.Scenes = new List<SceneSpec> { new SceneSpec { Id = "calm", Label = "Calm", Calm = true } };
            rig.Poll();
            var hello = rig.LastHello();
            rig.Clock.Advance(0.04);
            // console clock = engine + 1000; the hello took 10 ms to arrive, the welcome 20 ms to leave and arrive
            rig.Console.Send(new Welcome
            {
                ProtocolMajor = ProtocolVersion.Major, ProtocolMinor = ProtocolVersion.Minor, ConsoleName = "c",
                SessionId = "s", HeartbeatIntervalMs = 50, WatchdogTimeoutMs = 300,
                EchoSentAt = hello.SentAt, EchoReceivedAt = hello.SentAt + 1000.01, SentAt = hello.SentAt + 1000.02,
            });
            var sent = rig.Poll();
            Assert.AreEqual(new[] { "connected" }, rig.Events);
            Assert.AreEqual(LinkState.Connected, rig.Client.State);
            Assert.AreEqual(0.05, rig.Client.HeartbeatIntervalS, 1e-9);
            Assert.AreEqual(0.3, rig.Client.WatchdogTimeoutS, 1e-9);
            Assert.AreEqual("scene_catalogue", sent[0].Message.TypeName);
            Assert.AreEqual("calm", ((SceneCatalogue)sent[0].Message).Scenes[0].Id);
            Assert.AreEqual(1, Of<Heartbeat>(sent).Count);
            // t1 = hello.SentAt, t2 = t1 + 1000.01, t3 = t1 + 1000.02, t4 = t1 + 0.04
            Assert.AreEqual(0.03, rig.Client.RttS.Value, 1e-9);
            Assert.AreEqual(999.995, rig.Client.ClockOffsetS.Value, 1e-9);
        }

        [Test]
        public void HeartbeatsGoOutEveryIntervalAndEchoTheConsolesLastBeat()
        {
            var rig = new Rig();
            rig.Connect();
            rig.Sent.Clear();
            rig.Run(1.0, true);
            var beats = Of<Heartbeat>(rig.Sent);
            // one went out with the welcome at t = 0; then one every 100 ms of the next second
            Assert.IsTrue(beats.Count >= 9 && beats.Count <= 10, beats.Count + " beats in 1 s");
            for (int i = 1; i < beats.Count; i++) Assert.AreEqual(beats[i - 1].Seq + 1, beats[i].Seq);
            rig.Console.Beat(seq: 77, sentAt: 4321.5);
            double arrived = rig.Clock.Now;
            rig.Poll();
            rig.Clock.Advance(0.1);
            var next = Of<Heartbeat>(rig.Poll());
            Assert.AreEqual(1, next.Count);
            Assert.AreEqual(77L, next[0].EchoSeq);
            Assert.AreEqual(4321.5, next[0].EchoSentAt);
            Assert.AreEqual(arrived, next[0].EchoReceivedAt);
        }

        [Test]
        public void ClockOffsetAndRoundTripFromEchoedBeats()
        {
            var rig = new Rig();
            rig.Connect();
            for (int i = 0; i < 20; i++)
            {
                rig.Clock.Advance(0.1);
                var ours = Of<Heartbeat>(rig.Poll());
                Assert.AreEqual(1, ours.Count);
                // the beat travels 20 ms to the console, which answers 5 ms later; its answer takes 20 ms back
                double t2 = ours[0].SentAt + 0.02 + rig.Console.Offset;
                double t3 = t2 + 0.005;
                rig.Clock.Advance(0.045);
                rig.Console.Send(new Heartbeat
                {
                    Seq = 100 + i, SentAt = t3, EchoSeq = ours[0].Seq, EchoSentAt = ours[0].SentAt, EchoReceivedAt = t2,
                });
                rig.Poll();
            }
            Assert.AreEqual(1000.0, rig.Client.ClockOffsetS.Value, 1e-6);
            Assert.AreEqual(0.04, rig.Client.RttS.Value, 1e-6);
            Assert.AreEqual(new[] { "connected" }, rig.Events);
        }

        [Test]
        public void SilentConsoleTripsTheWatchdogOnceWithinTheTimeoutAndIsToldWhenItIsBack()
        {
            var rig = new Rig();
            rig.Connect(watchdogMs: 500);
            rig.Run(1.0, true);
            double lastBeat = rig.Clock.Now - 0.1;
            double trippedAt = -1;
            rig.Client.ConsoleGone += (why, silent) =>
            {
                trippedAt = rig.Clock.Now;
                StringAssert.Contains("no heartbeat from the console for", why);
            };
            rig.Run(1.0, false);
            Assert.AreEqual(new[] { "connected", "gone", "make_safe watchdog" }, rig.Events);
            Assert.Greater(trippedAt - lastBeat, 0.5);
            Assert.LessOrEqual(trippedAt - lastBeat, 0.52);
            Assert.IsTrue(rig.Client.IsConsoleGone);
            Assert.AreEqual(0, Of<SafetyEvent>(rig.Sent).Count, "reported only once the console is back");
            rig.Sent.Clear();
            rig.Run(0.2, true);
            Assert.AreEqual(new[] { "connected", "gone", "make_safe watchdog", "back" }, rig.Events);
            var reports = Of<SafetyEvent>(rig.Sent);
            Assert.AreEqual(1, reports.Count);
            Assert.AreEqual(SafetyKind.Watchdog, reports[0].Kind);
            Assert.AreEqual(LinkState.Connected, rig.Client.State);
        }

        [Test]
        public void BeatsThatProveNothingDoNotKeepTheWatchdogQuiet()
        {
            foreach (var how in new[] { "duplicate", "out_of_order", "late" })
            {
                var rig = new Rig();
                rig.Connect();
                long seq = 10;
                for (int i = 0; i < 100 && rig.Events.Count == 1; i++)
                {
                    if (i % 10 == 0)
                    {
                        if (how == "duplicate") rig.Console.Beat(10);
                        else if (how == "out_of_order") rig.Console.Beat(seq--);
                        else rig.Console.Beat(seq++, rig.Console.ConsoleNow - 1.0); // queued a second ago
                    }
                    rig.Poll();
                    rig.Clock.Advance(0.01);
                }
                Assert.AreEqual(new[] { "connected", "gone", "make_safe watchdog" }, rig.Events, how);
            }
        }

        [Test]
        public void ALostConsoleIsGreetedAgainAndTheReconnectionResumes()
        {
            var rig = new Rig();
            rig.Connect();
            rig.Run(0.5, true);
            rig.Sent.Clear();
            rig.Run(2.1, false); // past the 2 s "lost" mark
            Assert.AreEqual(LinkState.Connecting, rig.Client.State);
            var hello = rig.LastHello();
            Assert.IsTrue(hello.Resumed);
            rig.Console.Welcome(hello);
            rig.Sent.Clear();
            rig.Run(0.3, true);
            Assert.AreEqual(new[] { "connected", "gone", "make_safe watchdog", "back", "connected resumed" }, rig.Events);
            Assert.AreEqual(1, Of<SafetyEvent>(rig.Sent).Count);
            Assert.AreEqual(1, Of<SceneCatalogue>(rig.Sent).Count);
        }

        [Test]
        public void ARestartedConsoleIsGreetedAfterNotConnectedAndItsBeatsCountFromZero()
        {
            var rig = new Rig();
            rig.Connect();
            rig.Console.NextBeatSeq = 500;
            rig.Run(0.5, true);
            // the console restarts: it does not know us and says so
            rig.Console.Send(new Error { Code = ErrorCode.NotConnected, Text = "who are you?", RefType = "heartbeat" });
            rig.Sent.Clear();
            rig.Poll();
            Assert.AreEqual(LinkState.Connecting, rig.Client.State);
            Assert.AreEqual(1, Of<Hello>(rig.Sent).Count);
            rig.Console.SessionId = "session-2";
            rig.Console.NextBeatSeq = 0;
            rig.Console.Welcome(rig.LastHello());
            rig.Run(2.0, true);
            Assert.AreEqual(new[] { "connected", "connected resumed" }, rig.Events);
            Assert.IsFalse(rig.Client.IsConsoleGone);
        }

        [Test]
        public void AConsoleOfAnotherMajorVersionIsRefusedWithAReason()
        {
            var rig = new Rig();
            rig.Poll();
            rig.Console.Welcome(rig.LastHello(), major: ProtocolVersion.Major + 1);
            var sent = rig.Poll();
            Assert.AreEqual(LinkState.Refused, rig.Client.State);
            Assert.AreEqual(new[] { "refused version_mismatch" }, rig.Events);
            var bye = Of<Bye>(sent);
            Assert.AreEqual(1, bye.Count);
            Assert.AreEqual(ByeReason.VersionMismatch, bye[0].Reason);
            StringAssert.Contains("update the older of the two", bye[0].Text);
            rig.Console.SendRaw(new byte[] { 0xc1 });
            rig.Clock.Advance(1.0);
            Assert.AreEqual(0, rig.Poll().Count, "a refused client sends nothing more");
        }

        [Test]
        public void TheConsolesRefusalStopsTheClient()
        {
            var rig = new Rig();
            rig.Poll();
            rig.Console.Send(new Bye { Reason = ByeReason.DuplicateName, Text = "room-2-quest is already connected" });
            rig.Poll();
            Assert.AreEqual(LinkState.Refused, rig.Client.State);
            Assert.AreEqual(new[] { "refused duplicate_name" }, rig.Events);
            rig.Clock.Advance(1.0);
            Assert.AreEqual(0, rig.Poll().Count, "no more hellos");
        }

        [Test]
        public void AByeWhileConnectedMakesTheSceneSafeAndStartsOver()
        {
            var rig = new Rig();
            rig.Connect();
            rig.Console.Send(new Bye { Reason = ByeReason.Shutdown, Text = "console closing" });
            rig.Sent.Clear();
            rig.Poll();
            Assert.AreEqual(new[] { "connected", "gone", "make_safe watchdog" }, rig.Events);
            Assert.AreEqual(LinkState.Connecting, rig.Client.State);
            Assert.AreEqual(0, Of<Hello>(rig.Sent).Count);
            rig.Clock.Advance(0.26);
            Assert.AreEqual(1, Of<Hello>(rig.Poll()).Count);
        }

        [Test]
        public void MalformedInputIsAnsweredWithAnErrorAndTheLinkStaysUp()
        {
            var rig = new Rig();
            rig.Connect();
            rig.Console.SendRaw(new byte[] { 0xc1 });
            var w = new MsgPackWriter();
            w.WriteMapHeader(4);
            w.WriteString("type"); w.WriteString("set_parameter");
            w.WriteString("id"); w.WriteInt(17);
            w.WriteString("name"); w.WriteString("distance");
            w.WriteString("value"); w.WriteString("far");
            rig.Console.SendRaw(w.ToArray());
            rig.Console.Send(new Hello { Name = "n", InstanceId = "i", Engine = "e", AppVersion = "1", ProtocolMajor = 1 });
            var errors = Of<Error>(rig.Poll());
            Assert.AreEqual(3, errors.Count);
            Assert.AreEqual(ErrorCode.Malformed, errors[0].Code);
            Assert.AreEqual(-1L, errors[0].RefId);
            Assert.AreEqual(ErrorCode.InvalidField, errors[1].Code);
            Assert.AreEqual("set_parameter", errors[1].RefType);
            Assert.AreEqual(17L, errors[1].RefId);
            StringAssert.Contains("set_parameter.value", errors[1].Text);
            Assert.AreEqual(ErrorCode.WrongDirection, errors[2].Code);
            Assert.AreEqual(LinkState.Connected, rig.Client.State);
            rig.Run(1.0, true);
            Assert.AreEqual(new[] { "connected" }, rig.Events);
        }

        [Test]
        public void ANegativeIdInAFrameWithoutTypeIsAnsweredWithRefIdMinusOne()
        {
            var rig = new Rig();
            rig.Connect();
            var w = new MsgPackWriter();
            w.WriteMapHeader(2);
            w.WriteString("type"); w.WriteInt(5);
            w.WriteString("id"); w.WriteInt(-7);
            rig.Console.SendRaw(w.ToArray());
            var errors = Of<Error>(rig.Poll());
            Assert.AreEqual(1, errors.Count, "the reply is sendable: error.ref_id is at least -1");
            Assert.AreEqual(ErrorCode.Malformed, errors[0].Code);
            Assert.AreEqual(-1L, errors[0].RefId);
            Assert.AreEqual(LinkState.Connected, rig.Client.State);
        }

        [Test]
        public void ErrorRepliesAreRateLimitedToTenASecond()
        {
            var rig = new Rig();
            rig.Connect();
            for (int i = 0; i < 30; i++) rig.Console.SendRaw(new byte[] { 0xc1 });
            Assert.AreEqual(10, Of<Error>(rig.Poll()).Count);
            Assert.AreEqual(20, rig.Client.ErrorsSuppressed);
            rig.Clock.Advance(1.01);
            rig.Console.SendRaw(new byte[] { 0xc1 });
            Assert.AreEqual(1, Of<Error>(rig.Poll()).Count);
        }

        [Test]
        public void MessagesAreDispatchedOnlyOnceConnected()
        {
            var rig = new Rig();
            var got = new List<string>();
            rig.Client.SetParameterReceived += (m, id) => got.Add("set " + m.Name + " " + id);
            rig.Client.MakeSafeReceived += (m, id) => got.Add("make_safe " + m.FadeS);
            rig.Client.PromptReceived += (m, id) => got.Add("prompt " + m.PromptId + " " + EnumWire.ToWire(m.Kind));
            rig.Client.MessageReceived += (m, id) => got.Add("any " + m.TypeName);
            rig.Poll();
            rig.Console.Send(new SetParameter { Name = "early", Value = 1 });
            rig.Poll();
            Assert.AreEqual(0, got.Count, "nothing reaches the engine before the welcome");
            rig.Console.Welcome(rig.LastHello());
            rig.Poll();
            long setId = rig.Console.Send(new SetParameter { Name = "distance", Value = 1.5 });
            rig.Console.Send(new MakeSafe { FadeS = 2.0, Reason = "therapist pressed make safe" });
            rig.Console.Send(new Prompt { PromptId = 3, Kind = PromptKind.Suds, Text = "How anxious?" });
            rig.Poll();
            Assert.AreEqual(new[]
            {
                "any set_parameter", "set distance " + setId, "any make_safe", "make_safe 2", "any prompt", "prompt 3 suds",
            }, got);
            Assert.AreEqual(new[] { "connected", "make_safe console" }, rig.Events);
        }

        [Test]
        public void AtMostOneMirrorFrameIsInFlightAndOnlyTheNewestIsSent()
        {
            var rig = new Rig();
            rig.Connect();
            rig.Client.OfferFrame(new byte[] { 0xff, 0xd8, 0xff, 0xd9 }, 2, 2, 1.0);
            Assert.AreEqual(0, Of<MirrorFrame>(rig.Poll()).Count, "the console has not asked for frames");
            rig.Console.Send(new MirrorSettings { Enabled = true, MaxFps = 15, MaxWidth = 640, Quality = 70 });
            for (int i = 0; i < 3; i++) rig.Client.OfferFrame(new byte[] { 0xff, 0xd8, (byte)i, 0xff, 0xd9 }, 2, 2, 1.0 + i);
            var frames = Of<MirrorFrame>(rig.Poll());
            Assert.AreEqual(1, frames.Count);
            Assert.AreEqual(4L, frames[0].Seq);
            Assert.IsTrue(rig.Client.WantsMirrorFrame);
            rig.Client.OfferFrame(new byte[] { 0xff, 0xd8, 0xff, 0xd9 }, 2, 2, 5.0);
            rig.Clock.Advance(0.5);
            Assert.AreEqual(0, Of<MirrorFrame>(rig.Poll()).Count, "waits for the ack");
            rig.Console.Send(new MirrorAck { Seq = 4, ReceivedAt = 1 });
            frames = Of<MirrorFrame>(rig.Poll());
            Assert.AreEqual(1, frames.Count);
            Assert.AreEqual(5L, frames[0].Seq);
            rig.Client.OfferFrame(new byte[] { 0xff, 0xd8, 0xff, 0xd9 }, 2, 2, 6.0);
            rig.Clock.Advance(1.01);
            rig.Console.Beat();
            Assert.AreEqual(1, Of<MirrorFrame>(rig.Poll()).Count, "no ack within 1 s: send again");
            Assert.AreEqual(3, rig.Client.FramesReplaced);
            Assert.AreEqual(3, rig.Client.FramesSent);
        }

        [Test]
        public void AFailingHandlerDoesNotStopTheLinksOwnWork()
        {
            var rig = new Rig();
            rig.Connect();
            rig.Client.MarkerReceived += (m, id) => { throw new InvalidOperationException("boom"); };
            rig.Console.Send(new Marker { Label = "x", At = 1 });
            rig.Console.Beat(5);
            rig.Clock.Advance(0.1);
            var caught = Assert.Throws<AggregateException>(() => rig.Client.Poll());
            Assert.AreEqual("boom", caught.InnerException.Message);
            Assert.AreEqual(5L, Of<Heartbeat>(rig.Console.Take())[0].EchoSeq, "the beat after it was read and answered");
            var reported = new List<Exception>();
            rig.Client.HandlerFailed += reported.Add;
            rig.Console.Send(new Marker { Label = "y", At = 2 });
            rig.Client.Poll();
            Assert.AreEqual(1, reported.Count);
        }

        [Test]
        public void CloseSaysByeAndClosesTheTransport()
        {
            var rig = new Rig();
            rig.Connect();
            rig.Client.Close("quitting");
            var bye = Of<Bye>(rig.Console.Take());
            Assert.AreEqual(1, bye.Count);
            Assert.AreEqual(ByeReason.Shutdown, bye[0].Reason);
            Assert.IsTrue(rig.Console.Transport.Disposed);
            Assert.AreEqual(LinkState.Closed, rig.Client.State);
        }
    }
}
