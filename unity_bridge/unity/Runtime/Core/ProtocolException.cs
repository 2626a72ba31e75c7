using System;
using System.Text;

namespace Vrclinic.Protocol
{
    /// <summary>
    /// A frame or message that does not fit the protocol. <see cref="Code"/> is the ErrorCode
    /// to answer with; <see cref="MsgType"/> and <see cref="Field"/> say where,
    /// <see cref="Problem"/> what. <see cref="RefId"/> is the offending envelope id, or -1.
    /// </summary>
    public sealed class ProtocolException : Exception
    {
        public ErrorCode Code { get; private set; }
        public string Problem { get; private set; }
        public string MsgType { get; internal set; }
        public string Field { get; private set; }
        public long RefId { get; internal set; }

        public ProtocolException(ErrorCode code, string problem, string msgType = "", string field = "", long refId = -1)
            : base(problem)
        {
            Code = code;
            Problem = problem;
            MsgType = msgType ?? "";
            Field = field ?? "";
            RefId = refId;
        }

        /// <summary>"set_parameter.value: 12.0 is above the maximum 5.0".</summary>
        public override string Message
        {
            get
            {
                string where = MsgType.Length > 0 && Field.Length > 0 ? MsgType + "." + Field : MsgType + Field;
                return where.Length > 0 ? where + ": " + Problem : Problem;
            }
        }

        /// <summary>The <c>error</c> message that tells the peer what was wrong with what it sent.</summary>
        public Error ToError()
        {
            // ref_id is at least -1: the reply must always be sendable
            return new Error { Code = Code, Text = Clip(Message, 1024), RefType = Clip(MsgType, 64), RefId = RefId >= 0 ? RefId : -1 };
        }

        /// <summary>Cuts text to at most maxBytes of UTF-8 (ending in "..." when cut), never
        /// splitting a character.</summary>
        public static string Clip(string text, int maxBytes)
        {
            if (Encoding.UTF8.GetByteCount(text) <= maxBytes) return text;
            var sb = new StringBuilder();
            int used = 0;
            for (int i = 0; i < text.Length; i++)
            {
                int len = char.IsHighSurrogate(text[i]) && i + 1 < text.Length ? 2 : 1;
                int bytes = Encoding.UTF8.GetByteCount(text.Substring(i, len));
                if (used + bytes > maxBytes - 3) break;
                sb.Append(text, i, len);
                used += bytes;
                i += len - 1;
            }
            return sb.Append("...").ToString();
        }
    }
}
