using System;
using System.Collections.Generic;
using UnityEngine;
using UnityEngine.Events;
using Vrclinic.Protocol;

namespace Vrclinic.Bridge.Unity
{
    /// <summary>
    /// Shows the console's self-report prompts (SUDS, expectancy, outcome) through your own
    /// UI: <see cref="onPromptShown"/> gets the prompt; when the patient has chosen, call
    /// <see cref="Answer"/> (or <see cref="Dismiss"/>). A prompt not answered within its
    /// timeout is hidden and reported as unanswered. Prompts arriving while one is shown
    /// wait their turn.
    /// </summary>
    [AddComponentMenu("vrclinic/Prompt Hook")]
    public sealed class PromptHook : MonoBehaviour
    {
        /// <summary>Arguments: prompt id, text for the patient, lowest answer, highest answer.</summary>
        [Serializable] public class PromptEvent : UnityEvent<int, string, int, int> { }

        [SerializeField] bool handleSuds = true;
        [SerializeField] bool handleExpectancy = true;
        [SerializeField] bool handleOutcome = true;

        public PromptEvent onPromptShown = new PromptEvent();
        public UnityEvent onPromptHidden = new UnityEvent();

        sealed class Shown
        {
            public Prompt Prompt;
            public double ShownAt;
        }

        readonly Queue<Prompt> waiting = new Queue<Prompt>();
        Shown current;
        VrclinicLink link;

        /// <summary>The prompt on screen; null when none is.</summary>
        public Prompt Current { get { return current != null ? current.Prompt : null; } }

        void OnEnable()
        {
            link = VrclinicLink.Active;
            if (link == null || link.Client == null)
            {
                Debug.LogWarning("vrclinic: PromptHook needs a VrclinicLink in the scene.", this);
                return;
            }
            link.Client.PromptReceived += OnPrompt;
        }

        void OnDisable()
        {
            if (link != null && link.Client != null) link.Client.PromptReceived -= OnPrompt;
            if (current != null) Finish(false, 0);
        }

        void OnPrompt(Prompt prompt, long id)
        {
            bool handled = prompt.Kind == PromptKind.Suds ? handleSuds
                : prompt.Kind == PromptKind.Expectancy ? handleExpectancy : handleOutcome;
            if (!handled) return;
            waiting.Enqueue(prompt);
            if (current == null) ShowNext();
        }

        void ShowNext()
        {
            if (waiting.Count == 0) return;
            current = new Shown { Prompt = waiting.Dequeue(), ShownAt = link.Client.Now };
            var p = current.Prompt;
            onPromptShown.Invoke((int)p.PromptId, p.Text, (int)p.Min, (int)p.Max);
        }

        void Update()
        {
            if (current == null || link == null) return;
            if (link.Client.Now - current.ShownAt >= current.Prompt.TimeoutS) Finish(false, 0);
        }

        /// <summary>The patient's rating; clamped to the prompt's range (and the protocol's 0…100).</summary>
        public void Answer(int value)
        {
            if (current == null) return;
            long v = Math.Max(current.Prompt.Min, Math.Min(current.Prompt.Max, value));
            Finish(true, Math.Max(0, Math.Min(100, v)));
        }

        /// <summary>Hides the prompt without an answer (reported as answered = false).</summary>
        public void Dismiss()
        {
            if (current != null) Finish(false, 0);
        }

        void Finish(bool answered, long value)
        {
            var shown = current;
            current = null;
            onPromptHidden.Invoke();
            try
            {
                link.Client.Send(new PromptAnswer
                {
                    PromptId = shown.Prompt.PromptId, Kind = shown.Prompt.Kind, Answered = answered,
                    Value = answered ? value : 0, ShownAt = shown.ShownAt, AnsweredAt = link.Client.Now,
                });
            }
            catch (ProtocolException exc)
            {
                Debug.LogWarning("vrclinic: prompt answer not sent: " + exc.Message, this);
            }
            ShowNext();
        }
    }
}
