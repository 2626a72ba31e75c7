using System.Collections.Generic;
using NUnit.Framework;
using Vrclinic.Protocol;

namespace Vrclinic.Bridge.Tests
{
    /// <summary>Stimulus semantics (SPEC.md, section 7) over the in-memory transport.</summary>
    [TestFixture]
    public class StimulusControllerTests
    {
        Rig rig;
        StimulusController stimulus;
        List<string> applied;

        static List<T> Of<T>(IEnumerable<Received> all) where T : ProtocolMessage { return TestConsole.Of<T>(all); }

        [SetUp]
        public void Start()
        {
            rig = new Rig();
            stimulus = new StimulusController(rig.Client);
            applied = new List<string>();
            stimulus.ParameterChanged += (name, value) => applied.Add(name + "=" + value);
            var spiders = new SceneSpec { Id = "spiders", Label = "Spiders" };
            spiders.Parameters.Add(new ParameterSpec { Name = "distance", Label = "Distance", Unit = "m", Min = 0.3, Max = 5, Default = 5, IntensityIncreases = false });
            stimulus.DeclareScene(spiders);
            stimulus.DeclareScene(new SceneSpec { Id = "beach", Label = "Calm beach", Calm = true });
            stimulus.EnterScene("spiders");
            rig.Connect();
        }

        [Test]
        public void TheCatalogueAndStatusFollowTheWelcome()
        {
            var catalogue = Of<SceneCatalogue>(rig.Sent);
            Assert.AreEqual(1, catalogue.Count);
            Assert.AreEqual(2, catalogue[0].Scenes.Count);
            var status = Of<SceneStatus>(rig.Sent);
            Assert.AreEqual(1, status.Count);
            Assert.AreEqual("spiders", status[0].SceneId);
            Assert.AreEqual(SceneState.Running, status[0].State);
            Assert.AreEqual(5.0, status[0].Parameters[0].Value);
            Assert.AreEqual("beach", stimulus.CalmSceneId);
        }

        [Test]
        public void ASetParameterIsAppliedAndAnswered()
        {
            long id = rig.Console.Send(new SetParameter { Name = "distance", Value = 1.5 });
            var answer = Of<ParameterApplied>(rig.Poll());
            Assert.AreEqual(1, answer.Count);
            Assert.AreEqual(id, answer[0].RefId);
            Assert.AreEqual(1.5, answer[0].Value);
            Assert.IsFalse(answer[0].Ramping);
            Assert.AreEqual("distance=1.5", applied[applied.Count - 1]);
        }

        [Test]
        public void OutOfRangeAndUnknownParametersAreRefusedNotClamped()
        {
            long far = rig.Console.Send(new SetParameter { Name = "distance", Value = 12 });
            long what = rig.Console.Send(new SetParameter { Name = "legs", Value = 8 });
            var errors = Of<Error>(rig.Poll());
            Assert.AreEqual(2, errors.Count);
            Assert.AreEqual(ErrorCode.OutOfRange, errors[0].Code);
            Assert.AreEqual(far, errors[0].RefId);
            StringAssert.Contains("outside 0.3 … 5 m", errors[0].Text);
            Assert.AreEqual(ErrorCode.UnknownParameter, errors[1].Code);
            Assert.AreEqual(what, errors[1].RefId);
            Assert.AreEqual(5.0, stimulus.Value("distance"));
        }

        [Test]
        public void ARampReportsAtMostTenTimesASecondAndEndsOnTarget()
        {
            long id = rig.Console.Send(new SetParameter { Name = "distance", Value = 1.0, RampS = 2.0 });
            var first = Of<ParameterApplied>(rig.Poll());
            Assert.AreEqual(id, first[0].RefId);
            Assert.IsTrue(first[0].Ramping);
            Assert.AreEqual(1.0, first[0].Target);
            rig.Sent.Clear();
            for (int i = 0; i < 250; i++)
            {
                rig.Clock.Advance(0.01);
                if (i % 10 == 0) rig.Console.Beat();
                rig.Client.Poll();
                stimulus.Tick();
                rig.Sent.AddRange(rig.Console.Take());
            }
            var reports = Of<ParameterApplied>(rig.Sent);
            Assert.IsTrue(reports.Count >= 19 && reports.Count <= 21, reports.Count + " reports for a 2 s ramp");
            var last = reports[reports.Count - 1];
            Assert.IsFalse(last.Ramping);
            Assert.AreEqual(1.0, last.Value);
            Assert.AreEqual(-1L, last.RefId);
            // progress at most 10 a second; the final report comes when the target is reached
            for (int i = 1; i < reports.Count - 1; i++)
                Assert.IsTrue(reports[i].AppliedAt - reports[i - 1].AppliedAt >= 0.1 - 1e-9, "at most 10 a second");
            for (int i = 0; i < reports.Count - 1; i++) Assert.IsTrue(reports[i].Ramping);
        }

        [Test]
        public void MakeSafeCalmsResumeBringsTheSceneBack()
        {
            var calmed = new List<string>();
            stimulus.MakeSafe += (fade, reason, watchdog) => calmed.Add(fade + " " + reason + " " + watchdog);
            rig.Console.Send(new SetParameter { Name = "distance", Value = 1.0 });
            rig.Console.Send(new MakeSafe { FadeS = 1.0, Reason = "therapist pressed make safe" });
            var status = Of<SceneStatus>(rig.Poll());
            Assert.AreEqual(new[] { "1 therapist pressed make safe False" }, calmed);
            Assert.AreEqual(SceneState.Safe, status[status.Count - 1].State);
            Assert.AreEqual("beach", status[status.Count - 1].SceneId);
            rig.Console.Send(new SetParameter { Name = "distance", Value = 2.0 });
            Assert.AreEqual(ErrorCode.Busy, Of<Error>(rig.Poll())[0].Code);
            rig.Console.Send(new Resume { FadeS = 3.0 });
            status = Of<SceneStatus>(rig.Poll());
            Assert.AreEqual(SceneState.Running, status[0].State);
            Assert.AreEqual("spiders", status[0].SceneId);
            Assert.AreEqual(1.0, stimulus.Value("distance"));
        }

        [Test]
        public void TheWatchdogCalmsTheSceneAndTheConsoleSeesItAfterReconnecting()
        {
            var calmed = new List<bool>();
            stimulus.MakeSafe += (fade, reason, watchdog) => calmed.Add(watchdog);
            rig.Run(2.5, false);
            Assert.AreEqual(new[] { true }, calmed);
            Assert.AreEqual(SceneState.Safe, stimulus.State);
            rig.Console.Welcome(rig.LastHello());
            rig.Sent.Clear();
            rig.Poll();
            var status = Of<SceneStatus>(rig.Sent);
            Assert.AreEqual(1, status.Count);
            Assert.AreEqual(SceneState.Safe, status[0].State);
            Assert.AreEqual(1, Of<SafetyEvent>(rig.Sent).Count);
        }

        [Test]
        public void LoadSceneWaitsForTheEngineToReportItLoaded()
        {
            var loads = new List<string>();
            stimulus.LoadSceneRequested += (scene, values) => loads.Add(scene + " " + values["distance"]);
            long bad = rig.Console.Send(new LoadScene { SceneId = "heights" });
            Assert.AreEqual(ErrorCode.UnknownScene, Of<Error>(rig.Poll())[0].Code);
            var load = new LoadScene { SceneId = "spiders" };
            load.Parameters.Add(new ParameterValue { Name = "distance", Value = 2.5 });
            rig.Console.Send(load);
            var status = Of<SceneStatus>(rig.Poll());
            Assert.AreEqual(SceneState.Loading, status[0].State);
            Assert.AreEqual(new[] { "spiders 2.5" }, loads);
            rig.Console.Send(new SetParameter { Name = "distance", Value = 2.0 });
            Assert.AreEqual(ErrorCode.Busy, Of<Error>(rig.Poll())[0].Code);
            stimulus.ReportLoaded();
            status = Of<SceneStatus>(rig.Console.Take());
            Assert.AreEqual(SceneState.Running, status[0].State);
            Assert.AreEqual(2.5, status[0].Parameters[0].Value);
            Assert.AreNotEqual(-1L, bad);
        }
    }
}
