using System;
using System.Collections.Generic;

namespace Vrclinic.Bridge
{
    /// <summary>
    /// One connection to the console, one frame per ZeroMQ message (SPEC.md, section 1):
    /// what the <see cref="EngineClient"/> needs from a DEALER socket. Non-blocking; called
    /// only from the thread that pumps the client. Reconnecting after a dropped TCP
    /// connection is the transport's business (ZeroMQ does it by itself).
    /// </summary>
    public interface ITransport : IDisposable
    {
        /// <summary>Queues one frame; false when it was dropped (no connection yet, or the
        /// queue is full). Never blocks.</summary>
        bool TrySend(byte[] frame);

        /// <summary>Takes one received frame, if any. Never blocks.</summary>
        bool TryReceive(out byte[] frame);
    }

    /// <summary>
    /// What a transport on the encrypted port can add (optional): that the console ended
    /// connections during the CURVE handshake, i.e. refused this headset's key (not paired,
    /// revoked) or holds another key than the one pinned. libzmq reports it as
    /// ZMQ_EVENT_HANDSHAKE_FAILED_AUTH; NetMQ has no such event, so <c>NetMqTransport</c>
    /// infers it (see there). The <see cref="EngineClient"/> asks on every Poll and tells
    /// the engine once per run of refusals (Refused "not_admitted"), and keeps trying.
    /// </summary>
    public interface IHandshakeReport
    {
        /// <summary>True once when handshakes were refused since the last call. Never blocks;
        /// called only from the thread that pumps the client.</summary>
        bool TakeHandshakeRefused();
    }

    /// <summary>
    /// An in-process transport for tests and tools: the console side is whoever holds it.
    /// <see cref="Deliver"/> hands the client a frame, <see cref="TakeSent"/> takes what the
    /// client sent. <see cref="PeerConnected"/> false behaves like a DEALER with IMMEDIATE
    /// and no connection: sends are dropped. Thread-safe.
    /// </summary>
    public sealed class InMemoryTransport : ITransport, IHandshakeReport
    {
        readonly object gate = new object();
        readonly Queue<byte[]> inbox = new Queue<byte[]>();
        readonly Queue<byte[]> outbox = new Queue<byte[]>();
        bool peerConnected = true;
        bool handshakeRefused;

        public int Dropped { get; private set; }
        public bool Disposed { get; private set; }

        public bool PeerConnected
        {
            get { lock (gate) return peerConnected; }
            set { lock (gate) peerConnected = value; }
        }

        public bool TrySend(byte[] frame)
        {
            lock (gate)
            {
                if (Disposed) throw new ObjectDisposedException("InMemoryTransport");
                if (!peerConnected)
                {
                    Dropped++;
                    return false;
                }
                outbox.Enqueue(frame);
                return true;
            }
        }

        public bool TryReceive(out byte[] frame)
        {
            lock (gate)
            {
                if (inbox.Count > 0)
                {
                    frame = inbox.Dequeue();
                    return true;
                }
                frame = null;
                return false;
            }
        }

        /// <summary>The console sends a frame to the client.</summary>
        public void Deliver(byte[] frame)
        {
            lock (gate) inbox.Enqueue(frame);
        }

        /// <summary>Everything the client sent since the last call, oldest first.</summary>
        public List<byte[]> TakeSent()
        {
            lock (gate)
            {
                var all = new List<byte[]>(outbox);
                outbox.Clear();
                return all;
            }
        }

        /// <summary>The console refuses the encrypted handshake (as a ZAP handler does for an
        /// unpaired key): reported once by <see cref="TakeHandshakeRefused"/>.</summary>
        public void RefuseHandshake()
        {
            lock (gate) handshakeRefused = true;
        }

        public bool TakeHandshakeRefused()
        {
            lock (gate)
            {
                bool refused = handshakeRefused;
                handshakeRefused = false;
                return refused;
            }
        }

        public void Dispose()
        {
            lock (gate) Disposed = true;
        }
    }
}
