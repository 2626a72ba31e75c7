using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Vrclinic.Protocol;

namespace Vrclinic.Bridge.Tests
{
    /// <summary>A clock the test moves by hand.</summary>
    public sealed class ManualClock : IClock
    {
        public double Now { get; set; }

        public void Advance(double seconds) { Now += seconds; }
    }

    public static class Hex
    {
        public static byte[] Decode(string hex)
        {
            var bytes = new byte[hex.Length / 2];
            for (int i = 0; i < bytes.Length; i++)
                bytes[i] = byte.Parse(hex.Substring(2 * i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            return bytes;
        }

        public static string Encode(byte[] bytes)
        {
            var sb = new StringBuilder(bytes.Length * 2);
            foreach (var b in bytes) sb.Append(b.ToString("x2", CultureInfo.InvariantCulture));
            return sb.ToString();
        }
    }

    /// <summary>
    /// The console end of an <see cref="InMemoryTransport"/>: sends what a console sends and
    /// reads (and checks, with the console's rules) what the engine sent. Its clock is the
    /// engine's plus <see cref="Offset"/>.
    /// </summary>
    public sealed class TestConsole
    {
        public readonly InMemoryTransport Transport = new InMemoryTransport();
        public readonly ManualClock Clock;
        public double Offset = 1000.0;
        public string SessionId = "session-1";
        long nextId = 1;
        long nextBeat;
        readonly List<Received> received = new List<Received>();

        public TestConsole(ManualClock engineClock)
        {
            Clock = engineClock;
        }

        public double ConsoleNow { get { return Clock.Now + Offset; } }

        public long Send(ProtocolMessage message)
        {
            long id = nextId++;
            Transport.Deliver(Codec.Encode(message, id));
            return id;
        }

        public void SendRaw(byte[] frame) { Transport.Deliver(frame); }

        /// <summary>Everything the engine sent since the last call, decoded as the console would.</summary>
        public List<Received> Take()
        {
            var now = new List<Received>();
            foreach (var frame in Transport.TakeSent())
            {
                var r = Codec.Decode(frame, Role.Console);
                now.Add(r);
                received.Add(r);
            }
            return now;
        }

        public static List<T> Of<T>(IEnumerable<Received> all) where T : ProtocolMessage
        {
            var list = new List<T>();
            foreach (var r in all)
            {
                var m = r.Message as T;
                if (m != null) list.Add(m);
            }
            return list;
        }

        /// <summary>Answers the engine's last hello with a welcome.</summary>
        public void Welcome(Hello hello, int heartbeatMs = 100, int watchdogMs = 500, int major = -1)
        {
            Send(new Welcome
            {
                ProtocolMajor = major < 0 ? ProtocolVersion.Major : major,
                ProtocolMinor = ProtocolVersion.Minor,
                ConsoleName = "test console",
                SessionId = SessionId,
                HeartbeatIntervalMs = heartbeatMs,
                WatchdogTimeoutMs = watchdogMs,
                SentAt = ConsoleNow,
                EchoSentAt = hello.SentAt,
                EchoReceivedAt = ConsoleNow,
            });
        }

        public void Beat(long? seq = null, double? sentAt = null)
        {
            Send(new Heartbeat { Seq = seq ?? nextBeat++, SentAt = sentAt ?? ConsoleNow });
        }

        public long NextBeatSeq { get { return nextBeat; } set { nextBeat = value; } }
    }

    /// <summary>An engine client wired to a <see cref="TestConsole"/>, connected by
    /// <see cref="Connect"/>; records the client's events.</summary>
    public sealed class Rig
    {
        public readonly ManualClock Clock = new ManualClock { Now = 50.0 };
        public readonly TestConsole Console;
        public readonly EngineClient Client;
        public readonly List<string> Events = new List<string>();
        public readonly List<Received> Sent = new List<Received>();

        public Rig()
        {
            Console = new TestConsole(Clock);
            Client = new EngineClient(Console.Transport, Clock,
                new EngineIdentity { Name = "room-2-quest", Engine = "Unity test", AppVersion = "1.0", Device = "Quest 3" });
            Client.Connected += (w, resumed) => Events.Add("connected" + (resumed ? " resumed" : ""));
            Client.ConsoleGone += (why, silent) => Events.Add("gone");
            Client.ConsoleBack += after => Events.Add("back");
            Client.Refused += (reason, text) => Events.Add("refused " + reason);
            Client.MakeSafeRequested += (fade, reason, watchdog) => Events.Add("make_safe " + (watchdog ? "watchdog" : "console"));
        }

        /// <summary>Polls, then collects what the engine sent.</summary>
        public List<Received> Poll()
        {
            Client.Poll();
            var now = Console.Take();
            Sent.AddRange(now);
            return now;
        }

        /// <summary>Runs for <paramref name="seconds"/> in 10 ms steps; the console beats every
        /// 100 ms while <paramref name="beating"/>.</summary>
        public void Run(double seconds, bool beating)
        {
            int steps = (int)Math.Round(seconds / 0.01);
            for (int i = 0; i < steps; i++)
            {
                if (beating && i % 10 == 0) Console.Beat();
                Poll();
                Clock.Advance(0.01);
            }
        }

        public Hello LastHello()
        {
            var hellos = TestConsole.Of<Hello>(Sent);
            return hellos[hellos.Count - 1];
        }

        public void Connect(int watchdogMs = 500)
        {
            Poll();
            Console.Welcome(LastHello(), 100, watchdogMs);
            Poll();
        }
    }
}
