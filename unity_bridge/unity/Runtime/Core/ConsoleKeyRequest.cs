using System;
using Vrclinic.Protocol;
using ConsoleKey = Vrclinic.Protocol.ConsoleKey;

namespace Vrclinic.Bridge
{
    public enum KeyRequestState
    {
        /// <summary>key_request sent, no answer yet.</summary>
        Asking,
        /// <summary>The console answered, but pairing is not open there: asking again every second.</summary>
        PairingNotOpen,
        /// <summary>The console answered with pairing open: <see cref="ConsoleKeyRequest.Answer"/> holds its key.</summary>
        Answered,
        /// <summary>No answer in time, or an answer that cannot be used: see the Failed event's text.</summary>
        Failed,
    }

    /// <summary>
    /// The first step of pairing (SPEC.md, sections 10.4 and 10.6): asks the console's pairing
    /// port (main port + 1, no encryption) for its public key with key_request, and says what
    /// to show. The C# twin of unity_bridge/client.py's request_console_key, as a state
    /// machine pumped by <see cref="Poll"/> (never blocks), so that a game asks while it
    /// renders; and it keeps asking, once a second, while the console answers that pairing is
    /// not open, as the spec wants.
    ///
    /// Threading: like <see cref="EngineClient"/>, everything on the thread that calls Poll;
    /// events are raised inside Poll. Dispose closes the transport.
    /// </summary>
    public sealed class ConsoleKeyRequest : IDisposable
    {
        /// <summary>While pairing is not open, ask again this often (the spec: at most once a
        /// second, at least every 5 s).</summary>
        public const double RepeatS = 1.0;

        readonly ITransport transport;
        readonly IClock clock;
        readonly string name;
        readonly string enginePublic;
        readonly string endpoint;
        readonly Decoder decoder = new Decoder(Role.Engine);
        long nextId = 1;
        double askedAt;
        double lastAnswerAt;
        bool notOpenSaid;

        /// <summary>The console's pairing port answered with pairing open. Arguments: the
        /// answer (its public key, the console's name) and the pairing code to show. Connect to
        /// the encrypted port with <c>keys.WithConsole(answer.PublicKey)</c> next, and keep
        /// that key once the console's welcome arrives.</summary>
        public event Action<ConsoleKey, string> KeyReceived;
        /// <summary>The console answered but pairing is not open there. Arguments: the answer
        /// and a text to show ("pairing is not open on ..."). Raised once; the request keeps
        /// asking every <see cref="RepeatS"/> until it is open or disposed.</summary>
        public event Action<ConsoleKey, string> PairingNotOpen;
        /// <summary>No answer in time, or one that cannot be used. Argument: the text for a person.</summary>
        public event Action<string> Failed;

        /// <param name="pairingPort">A NULL-mechanism DEALER connected to the pairing port.</param>
        /// <param name="endpoint">The pairing port's address, for the texts.</param>
        /// <param name="name">This headset's name, proposed to the console (64 characters at most).</param>
        /// <param name="enginePublic">This headset's public key (never the secret one).</param>
        /// <param name="timeoutS">How long to wait for an answer to one request.</param>
        public ConsoleKeyRequest(ITransport pairingPort, IClock clock, string endpoint, string name, string enginePublic,
                                 double timeoutS = 5.0)
        {
            if (pairingPort == null) throw new ArgumentNullException("pairingPort");
            if (clock == null) throw new ArgumentNullException("clock");
            transport = pairingPort;
            this.clock = clock;
            this.endpoint = endpoint ?? "";
            this.name = name == null ? "" : (name.Length > 64 ? name.Substring(0, 64) : name);
            this.enginePublic = CurveKeys.Check(enginePublic, "headset's public key");
            TimeoutS = timeoutS;
            State = KeyRequestState.Asking;
            lastAnswerAt = clock.Now;
            Ask(clock.Now);
        }

        public KeyRequestState State { get; private set; }
        public double TimeoutS { get; private set; }
        /// <summary>The console's last answer (null before the first).</summary>
        public ConsoleKey Answer { get; private set; }
        /// <summary>The pairing code for the last answer ("123 456"); null before the first.</summary>
        public string Code { get; private set; }
        /// <summary>The text of the failure; null unless State is Failed.</summary>
        public string FailureText { get; private set; }

        /// <summary>Reads the answers that arrived, asks again when due, times out. Call every frame.</summary>
        public void Poll()
        {
            if (State == KeyRequestState.Answered || State == KeyRequestState.Failed) return;
            byte[] frame;
            for (int i = 0; i < 100 && transport.TryReceive(out frame); i++)
            {
                OnFrame(frame);
                if (State == KeyRequestState.Answered || State == KeyRequestState.Failed) return;
            }
            double t = clock.Now;
            if (t - lastAnswerAt > TimeoutS)
            {
                Fail("no answer from the console's pairing port " + endpoint + " within " + TimeoutS + " s: " +
                     "check the console's address and that it is running");
                return;
            }
            if (State == KeyRequestState.PairingNotOpen && t - askedAt >= RepeatS) Ask(t);
        }

        public void Dispose() { transport.Dispose(); }

        void Ask(double t)
        {
            askedAt = t;
            var frame = Codec.Encode(new KeyRequest { Name = name, PublicKey = enginePublic }, nextId++);
            transport.TrySend(frame); // dropped while not connected: the timeout tells
        }

        void OnFrame(byte[] frame)
        {
            Received received;
            try
            {
                received = decoder.Decode(frame);
            }
            catch (ProtocolException exc)
            {
                Fail("the pairing port " + endpoint + " answered something unreadable: " + exc.Message);
                return;
            }
            if (received == null) return; // a type from a newer minor version: not ours
            var error = received.Message as Error;
            if (error != null)
            {
                Fail("the console's pairing port " + endpoint + " refused the request (" + EnumWire.ToWire(error.Code) + "): " +
                     error.Text);
                return;
            }
            var answer = received.Message as ConsoleKey;
            if (answer == null)
            {
                Fail("the pairing port " + endpoint + " did not answer with the console's key (it sent " +
                     received.Message.TypeName + ")");
                return;
            }
            string code;
            try
            {
                code = Pairing.Code(answer.PublicKey, enginePublic);
            }
            catch (KeyProblem exc)
            {
                Fail("the pairing port " + endpoint + " answered with an unusable key: " + exc.Message);
                return;
            }
            lastAnswerAt = clock.Now;
            Answer = answer;
            Code = code;
            if (answer.PairingOpen)
            {
                State = KeyRequestState.Answered;
                var received1 = KeyReceived;
                if (received1 != null) received1(answer, code);
                return;
            }
            State = KeyRequestState.PairingNotOpen;
            if (notOpenSaid) return;
            notOpenSaid = true;
            var notOpen = PairingNotOpen;
            if (notOpen != null)
                notOpen(answer, "pairing is not open on " + answer.ConsoleName + ": on the console open Devices, Pair a headset");
        }

        void Fail(string text)
        {
            State = KeyRequestState.Failed;
            FailureText = text;
            var failed = Failed;
            if (failed != null) failed(text);
        }
    }
}
