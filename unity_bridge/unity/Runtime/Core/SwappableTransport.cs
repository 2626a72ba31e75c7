using System;

namespace Vrclinic.Bridge
{
    /// <summary>
    /// A transport whose connection can be replaced while the <see cref="EngineClient"/> on
    /// top of it lives on: none while a headset is being paired (sends are dropped, as by a
    /// DEALER with no connection), the encrypted port once the console's key is known, none
    /// again after a refusal. So the client, and everything subscribed to its events, is made
    /// once. Replacing or clearing the connection disposes the old one. Used from the thread
    /// that pumps the client.
    /// </summary>
    public sealed class SwappableTransport : ITransport, IHandshakeReport
    {
        ITransport inner;
        bool disposed;

        public SwappableTransport(ITransport initial = null)
        {
            inner = initial;
        }

        /// <summary>The current connection; null for none. Setting it disposes the one before.</summary>
        public ITransport Inner
        {
            get { return inner; }
            set
            {
                if (disposed) throw new ObjectDisposedException("SwappableTransport");
                if (ReferenceEquals(inner, value)) return;
                var old = inner;
                inner = value;
                if (old != null) old.Dispose();
            }
        }

        public bool TrySend(byte[] frame)
        {
            if (disposed) throw new ObjectDisposedException("SwappableTransport");
            return inner != null && inner.TrySend(frame);
        }

        public bool TryReceive(out byte[] frame)
        {
            frame = null;
            return !disposed && inner != null && inner.TryReceive(out frame);
        }

        public bool TakeHandshakeRefused()
        {
            var report = inner as IHandshakeReport;
            return !disposed && report != null && report.TakeHandshakeRefused();
        }

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            if (inner != null) inner.Dispose();
            inner = null;
        }
    }
}
