using System;
using NetMQ;
using NetMQ.Sockets;
using Vrclinic.Protocol;

namespace Vrclinic.Bridge.NetMQ
{
    /// <summary>
    /// The real transport: a NetMQ DEALER socket connected to the console's ROUTER, with the
    /// options SPEC.md (section 1) recommends: LINGER 0 (closing never hangs), IMMEDIATE (no
    /// stale heartbeats queued for a console that is not there), reconnect 100 ms → 1 s, ZMTP
    /// heartbeats 1 s / 3 s (a dead TCP peer is dropped and reconnected; this is not the
    /// protocol's heartbeat). Written against NetMQ 4.0.1.x (netstandard2.0). Used only from
    /// the thread that pumps the EngineClient; nothing here blocks.
    ///
    /// Call <see cref="NetMqRuntime.Prepare"/> once before the first socket (VrclinicLink does).
    /// </summary>
    public sealed class NetMqTransport : ITransport
    {
        readonly DealerSocket socket;
        bool disposed;

        public NetMqTransport(string consoleAddress)
        {
            if (string.IsNullOrEmpty(consoleAddress)) throw new ArgumentException("no console address", "consoleAddress");
            NetMqRuntime.Prepare();
            Address = consoleAddress;
            socket = new DealerSocket();
            socket.Options.Linger = TimeSpan.Zero;
            socket.Options.DelayAttachOnConnect = true; // ZMQ_IMMEDIATE
            socket.Options.ReconnectInterval = TimeSpan.FromMilliseconds(100);
            socket.Options.ReconnectIntervalMax = TimeSpan.FromMilliseconds(1000);
            socket.Options.HeartbeatInterval = TimeSpan.FromMilliseconds(1000);
            socket.Options.HeartbeatTimeout = TimeSpan.FromMilliseconds(3000);
            socket.Options.SendHighWatermark = 1000;
            socket.Options.ReceiveHighWatermark = 1000;
            socket.Options.MaxMsgSize = Limits.MaxFrameBytes + 1024;
            socket.Connect(consoleAddress);
        }

        /// <summary>e.g. "tcp://192.168.1.20:5555".</summary>
        public string Address { get; private set; }

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
            return true;
        }

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            socket.Dispose();
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
