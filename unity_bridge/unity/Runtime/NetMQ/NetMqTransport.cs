using System;
using System.Diagnostics;
using System.Threading;
using NetMQ;
using NetMQ.Monitoring;
using NetMQ.Sockets;
using Vrclinic.Protocol;

namespace Vrclinic.Bridge.NetMQ
{
    /// <summary>
    /// The real transport: a NetMQ DEALER socket connected to the console's ROUTER, with the
    /// options SPEC.md (section 1) recommends: LINGER 0 (closing never hangs), IMMEDIATE (no
    /// stale heartbeats queued for a console that is not there), reconnect 100 ms → 1 s, ZMTP
    /// heartbeats 1 s / 3 s (a dead TCP peer is dropped and reconnected; this is not the
    /// protocol's heartbeat). Used only from the thread that pumps the EngineClient; nothing
    /// here blocks.
    ///
    /// Three kinds (SPEC.md, section 10):
    /// <list type="bullet">
    /// <item><description><see cref="NetMqTransport(string, EngineKeys)"/>: the console's
    /// encrypted port. A CURVE client (RFC 26) pinned to the console's public key, with this
    /// headset's long-term key pair. NetMQ's CURVE client, written against the API NetMQ has
    /// had since 4.0.1.2: <c>Options.CurveServerKey</c> (32 bytes) and
    /// <c>Options.CurveCertificate</c> (a <c>NetMQCertificate</c> of the secret and public
    /// key, 32 bytes each).</description></item>
    /// <item><description><see cref="ForPairingPort"/>: the pairing port (main port + 1), NULL
    /// mechanism, frames of 4,096 bytes at most, for <see cref="ConsoleKeyRequest"/>.</description></item>
    /// <item><description><see cref="Unencrypted"/>: only a console's lab-bench port ("allow
    /// unpaired engines") accepts it; never with a patient.</description></item>
    /// </list>
    ///
    /// Call <see cref="NetMqRuntime.Prepare"/> once before the first socket (the constructors do).
    /// </summary>
    public sealed class NetMqTransport : ITransport, IHandshakeReport
    {
        /// <summary>The pairing port's MAXMSGSIZE (SPEC.md, section 10.4).</summary>
        public const int PairingMaxFrameBytes = 4096;

        readonly DealerSocket socket;
        readonly NetMQMonitor monitor;
        bool disposed;

        // The handshake watch (see TakeHandshakeRefused). Written by NetMQ's monitor thread
        // and by the pumping thread, hence Interlocked.
        int receivedSinceConnect;
        int emptyConnections;
        int refusedPending;
        int refusedSaid;

        /// <summary>The console's encrypted port, as a CURVE client. KeyProblem in words when
        /// the keys have no console key yet (pair first).</summary>
        public NetMqTransport(string consoleAddress, EngineKeys keys) : this(consoleAddress, keys, Kind.Encrypted) { }

        /// <summary>The console's pairing port (unencrypted: only public keys travel there).</summary>
        public static NetMqTransport ForPairingPort(string pairingEndpoint)
        {
            return new NetMqTransport(pairingEndpoint, null, Kind.Pairing);
        }

        /// <summary>No encryption: for a console's lab-bench port only (it is off by default,
        /// logged and marked on the console). A console's normal port refuses it.</summary>
        public static NetMqTransport Unencrypted(string consoleAddress)
        {
            return new NetMqTransport(consoleAddress, null, Kind.Unencrypted);
        }

        enum Kind { Encrypted, Pairing, Unencrypted }

        NetMqTransport(string address, EngineKeys keys, Kind kind)
        {
            if (string.IsNullOrEmpty(address)) throw new ArgumentException("no console address", "address");
            if (kind == Kind.Encrypted)
            {
                if (keys == null) throw new KeyProblem("no keys for the encrypted link: give this headset's keys (its keys file)");
                if (!keys.IsPaired)
                    throw new KeyProblem("this headset is not paired with a console yet (its keys have no console_public): pair it first");
            }
            NetMqRuntime.Prepare();
            Address = address;
            Encrypted = kind == Kind.Encrypted;
            socket = new DealerSocket();
            try
            {
                socket.Options.Linger = TimeSpan.Zero;
                socket.Options.ReconnectInterval = TimeSpan.FromMilliseconds(100);
                socket.Options.ReconnectIntervalMax = TimeSpan.FromMilliseconds(1000);
                if (kind == Kind.Pairing)
                {
                    // The request waits for the connection (no IMMEDIATE), and only small frames are read.
                    socket.Options.SendHighWatermark = 10;
                    socket.Options.ReceiveHighWatermark = 10;
                    socket.Options.MaxMsgSize = PairingMaxFrameBytes;
                }
                else
                {
                    socket.Options.DelayAttachOnConnect = true; // ZMQ_IMMEDIATE
                    socket.Options.HeartbeatInterval = TimeSpan.FromMilliseconds(1000);
                    socket.Options.HeartbeatTimeout = TimeSpan.FromMilliseconds(3000);
                    socket.Options.SendHighWatermark = 1000;
                    socket.Options.ReceiveHighWatermark = 1000;
                    socket.Options.MaxMsgSize = Limits.MaxFrameBytes + 1024;
                }
                if (kind == Kind.Encrypted)
                {
                    // CURVE client: the server key pins the console; the certificate is this
                    // headset's long-term pair (its identity on the console). Both before Connect.
                    socket.Options.CurveServerKey = CurveKeys.Raw(keys.ConsolePublic, "console's public key");
                    socket.Options.CurveCertificate = new NetMQCertificate(Z85.Decode(keys.Own.Secret), Z85.Decode(keys.Own.Public));
                    monitor = StartMonitor();
                }
                socket.Connect(address);
            }
            catch
            {
                if (monitor != null) monitor.Dispose();
                socket.Dispose();
                throw;
            }
        }

        /// <summary>e.g. "tcp://192.168.1.20:5555".</summary>
        public string Address { get; private set; }
        /// <summary>True for the CURVE transport.</summary>
        public bool Encrypted { get; private set; }

        public bool TrySend(byte[] frame)
        {
            if (disposed) throw new ObjectDisposedException("NetMqTransport");
            // TimeSpan.Zero: never block; with IMMEDIATE and no connection this returns false.
            return socket.TrySendFrame(TimeSpan.Zero, frame);
        }

        public bool TryReceive(out byte[] frame)
        {
            frame = null;
            if (disposed) return false;
            bool more;
            if (!socket.TryReceiveFrameBytes(TimeSpan.Zero, out frame, out more)) return false;
            // The protocol's messages are single-part; a multi-part message is not one of them.
            // Its later parts are dropped and the first is handed on (the decoder refuses it).
            while (more)
            {
                byte[] rest;
                if (!socket.TryReceiveFrameBytes(TimeSpan.Zero, out rest, out more)) break;
            }
            // A message came through: the handshake of this connection succeeded.
            Interlocked.Exchange(ref receivedSinceConnect, 1);
            Interlocked.Exchange(ref emptyConnections, 0);
            Interlocked.Exchange(ref refusedSaid, 0);
            return true;
        }

        /// <summary>
        /// NetMQ reports no handshake events (libzmq's ZMQ_EVENT_HANDSHAKE_FAILED_AUTH has no
        /// NetMQ counterpart), so this infers a refusal: two connections in a row that TCP
        /// opened and that closed before any message came through. That is what a console's
        /// ZAP refusal (CURVE ERROR) looks like from here; a console holding another key than
        /// the pinned one looks the same, and so would a console that crashed twice right
        /// after accepting. True once per run of such connections.
        /// </summary>
        public bool TakeHandshakeRefused()
        {
            return Interlocked.Exchange(ref refusedPending, 0) == 1;
        }

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            if (monitor != null)
            {
                try
                {
                    monitor.Dispose(); // stops its thread (within its 100 ms poll timeout)
                }
                catch (Exception)
                {
                    // a monitor that fails to stop must not keep the socket open
                }
            }
            socket.Dispose();
        }

        NetMQMonitor StartMonitor()
        {
            var endpoint = "inproc://vrclinic-monitor-" + Guid.NewGuid().ToString("N");
            var m = new NetMQMonitor(socket, endpoint, SocketEvents.Connected | SocketEvents.Disconnected);
            m.Timeout = TimeSpan.FromMilliseconds(100);
            // On NetMQ's monitor thread: only counters here.
            m.Connected += (sender, e) => Interlocked.Exchange(ref receivedSinceConnect, 0);
            m.Disconnected += (sender, e) =>
            {
                if (Interlocked.CompareExchange(ref receivedSinceConnect, 0, 0) == 1) return;
                if (Interlocked.Increment(ref emptyConnections) >= 2 && Interlocked.Exchange(ref refusedSaid, 1) == 0)
                    Interlocked.Exchange(ref refusedPending, 1);
            };
            m.StartAsync();
            // Wait (briefly, once) until the monitor listens, so the first connection is seen.
            var waited = Stopwatch.StartNew();
            while (!m.IsRunning && waited.ElapsedMilliseconds < 500) Thread.Sleep(1);
            return m;
        }
    }

    /// <summary>Process-wide NetMQ set-up and tear-down, the parts Unity needs done right.</summary>
    public static class NetMqRuntime
    {
        static bool prepared;

        /// <summary>
        /// Before the first socket: AsyncIO's managed implementation instead of the Windows
        /// I/O completion ports it would otherwise look for. Required on Android (Quest) and
        /// IL2CPP, harmless elsewhere. Idempotent.
        /// </summary>
        public static void Prepare()
        {
            if (prepared) return;
            AsyncIO.ForceDotNet.Force();
            prepared = true;
        }

        /// <summary>
        /// After the last socket is disposed (application quit, leaving Play mode): stops
        /// NetMQ's background threads without waiting for unsent messages. Without it the
        /// Unity editor hangs when Play is pressed the second time.
        /// </summary>
        public static void Cleanup()
        {
            if (!prepared) return;
            NetMQConfig.Cleanup(false);
            prepared = false;
        }
    }
}
