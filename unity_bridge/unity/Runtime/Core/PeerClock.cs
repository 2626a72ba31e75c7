using System;
using System.Collections.Generic;
using System.Diagnostics;
using Vrclinic.Protocol;

namespace Vrclinic.Bridge
{
    /// <summary>The protocol's clock: monotonic seconds, any origin. Injected, so tests
    /// drive time themselves.</summary>
    public interface IClock
    {
        double Now { get; }
    }

    /// <summary>Monotonic seconds from <see cref="Stopwatch"/> (QueryPerformanceCounter /
    /// clock_gettime(MONOTONIC)); unaffected by wall-clock changes.</summary>
    public sealed class MonotonicClock : IClock
    {
        public static readonly MonotonicClock Instance = new MonotonicClock();
        readonly double toSeconds = 1.0 / Stopwatch.Frequency;

        public double Now { get { return Stopwatch.GetTimestamp() * toSeconds; } }
    }

    /// <summary>
    /// What one side knows about its peer's heartbeats and clock (SPEC.md, section 5): which
    /// beats count, round-trip time and clock offset by the NTP method. The C# twin of
    /// protocol/timing.py's PeerClock. Belongs to the thread that pumps the client.
    /// </summary>
    public sealed class PeerClock
    {
        struct Sample
        {
            public double At, Rtt, Offset;
        }

        readonly Queue<Sample> samples = new Queue<Sample>();
        long echoSeq = -1;
        double echoSentAt, echoReceivedAt;
        long lastEchoSeq = -2;

        /// <summary>A beat whose send time, moved into our clock, is older than this is ignored.</summary>
        public double LateAfterS;
        public double WindowS;
        public long LastSeq = -1;
        /// <summary>Local time of the last beat that counted; null before the first.</summary>
        public double? LastCountedAt;
        public int Duplicates;
        public int Late;

        public PeerClock(double lateAfterS, double windowS = 10.0)
        {
            LateAfterS = lateAfterS;
            WindowS = windowS;
        }

        /// <summary>Peer clock minus local clock, from the sample with the smallest round trip.</summary>
        public double? OffsetS
        {
            get
            {
                if (samples.Count == 0) return null;
                Sample best = default(Sample);
                bool first = true;
                foreach (var s in samples)
                {
                    if (first || s.Rtt < best.Rtt) best = s;
                    first = false;
                }
                return best.Offset;
            }
        }

        /// <summary>Median round-trip time over the last 20 samples.</summary>
        public double? RttS
        {
            get
            {
                if (samples.Count == 0) return null;
                var all = samples.ToArray();
                int from = Math.Max(0, all.Length - 20);
                var recent = new double[all.Length - from];
                for (int i = from; i < all.Length; i++) recent[i - from] = all[i].Rtt;
                Array.Sort(recent);
                int n = recent.Length;
                return n % 2 == 1 ? recent[n / 2] : (recent[n / 2 - 1] + recent[n / 2]) / 2;
            }
        }

        /// <summary>A time of the peer's clock expressed in ours, once an offset is known.</summary>
        public double? ToLocal(double peerTime)
        {
            var offset = OffsetS;
            return offset.HasValue ? peerTime - offset.Value : (double?)null;
        }

        /// <summary>t1 we sent, t2 peer received, t3 peer sent, t4 we received (t1, t4 ours).</summary>
        public void AddSample(double t1, double t2, double t3, double t4)
        {
            double rtt = (t4 - t1) - (t3 - t2);
            if (rtt < -0.001 || (t3 - t2) < -0.001) return; // clocks went backwards, or an echo of something else
            samples.Enqueue(new Sample { At = t4, Rtt = Math.Max(rtt, 0.0), Offset = ((t2 - t1) + (t3 - t4)) / 2 });
            while (samples.Count > 0 && samples.Peek().At < t4 - WindowS) samples.Dequeue();
        }

        /// <summary>Records a heartbeat from the peer; true when it counts as proof of life.</summary>
        public bool OnHeartbeat(Heartbeat beat, double receivedAt)
        {
            if (beat.EchoSeq >= 0 && beat.EchoSeq != lastEchoSeq)
            {
                lastEchoSeq = beat.EchoSeq;
                AddSample(beat.EchoSentAt, beat.EchoReceivedAt, beat.SentAt, receivedAt);
            }
            if (beat.Seq <= LastSeq)
            {
                Duplicates++;
                return false;
            }
            LastSeq = beat.Seq;
            echoSeq = beat.Seq;
            echoSentAt = beat.SentAt;
            echoReceivedAt = receivedAt;
            var sentLocal = ToLocal(beat.SentAt);
            if (sentLocal.HasValue && receivedAt - sentLocal.Value > LateAfterS)
            {
                Late++;
                return false;
            }
            LastCountedAt = receivedAt;
            return true;
        }

        /// <summary>Seconds since the last counted beat; null before the first.</summary>
        public double? SilentFor(double at)
        {
            return LastCountedAt.HasValue ? at - LastCountedAt.Value : (double?)null;
        }

        /// <summary>Our next heartbeat, echoing the peer's last one.</summary>
        public Heartbeat MakeHeartbeat(long seq, double sentAt)
        {
            return new Heartbeat
            {
                Seq = seq, SentAt = sentAt, EchoSeq = echoSeq, EchoSentAt = echoSentAt, EchoReceivedAt = echoReceivedAt,
            };
        }

        /// <summary>The peer numbers its beats from 0 again (a new connection, a welcome): its
        /// next beat counts whatever its number. The clock samples are kept. The twin of
        /// protocol/timing.py's restart_sequence.</summary>
        public void RestartSequence()
        {
            LastSeq = -1;
        }

        /// <summary>Forgets the peer's beat numbering and the echo (a new console session starts over at 0).</summary>
        public void ResetSequence()
        {
            LastSeq = -1;
            lastEchoSeq = -2;
            echoSeq = -1;
            echoSentAt = 0;
            echoReceivedAt = 0;
        }
    }
}
