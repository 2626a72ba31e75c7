// Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
// Generator: protocol/codegen/csharp.py

using System;
using Vrclinic.Protocol;

namespace Vrclinic.Bridge
{
    public sealed partial class EngineClient
    {
        /// <summary>A <c>bye</c> arrived: The sender ends the link (or refuses it); the text says why in words a technician understands.
        /// Arguments: the message, its envelope id.</summary>
        public event Action<Bye, long> ByeReceived;
        /// <summary>A <c>error</c> arrived: The sender could not accept a message the peer sent. The link stays up.
        /// Arguments: the message, its envelope id.</summary>
        public event Action<Error, long> ErrorReceived;
        /// <summary>A <c>load_scene</c> arrived: Load a scene, optionally with starting values for some of its parameters.
        /// Arguments: the message, its envelope id.</summary>
        public event Action<LoadScene, long> LoadSceneReceived;
        /// <summary>A <c>set_parameter</c> arrived: Change one stimulus parameter of the current scene, at once or ramped.
        /// Arguments: the message, its envelope id.</summary>
        public event Action<SetParameter, long> SetParameterReceived;
        /// <summary>A <c>make_safe</c> arrived: Fade to the calm scene now. Always obeyed, at once, in any state, even during loading (the load is abandoned).
        /// Arguments: the message, its envelope id.</summary>
        public event Action<MakeSafe, long> MakeSafeReceived;
        /// <summary>A <c>pause</c> arrived: Freeze the stimulus where it is (animations and ramps stop).
        /// Arguments: the message, its envelope id.</summary>
        public event Action<Pause, long> PauseReceived;
        /// <summary>A <c>resume</c> arrived: Continue after pause; after make_safe (or the watchdog), bring back the scene and values shown before it, ramped over fade_s. In any other state it changes nothing.
        /// Arguments: the message, its envelope id.</summary>
        public event Action<Resume, long> ResumeReceived;
        /// <summary>A <c>prompt</c> arrived: Show a rating prompt inside VR (SUDS 0-100, or expectancy/outcome 0-100 %). Each prompt gets exactly one prompt_answer.
        /// Arguments: the message, its envelope id.</summary>
        public event Action<Prompt, long> PromptReceived;
        /// <summary>A <c>marker</c> arrived: A point in time worth finding again: a therapist's marker, an engine event (spider touched the hand).
        /// Arguments: the message, its envelope id.</summary>
        public event Action<Marker, long> MarkerReceived;
        /// <summary>A <c>mirror_settings</c> arrived: How the engine should mirror the patient's view. The engine may send less (smaller, fewer) to protect its own frame rate, never more.
        /// Arguments: the message, its envelope id.</summary>
        public event Action<MirrorSettings, long> MirrorSettingsReceived;

        void DispatchTyped(ProtocolMessage message, long id)
        {
            switch (message.TypeName)
            {
                case Bye.Type: Invoke(ByeReceived, (Bye)message, id); break;
                case Error.Type: Invoke(ErrorReceived, (Error)message, id); break;
                case LoadScene.Type: Invoke(LoadSceneReceived, (LoadScene)message, id); break;
                case SetParameter.Type: Invoke(SetParameterReceived, (SetParameter)message, id); break;
                case MakeSafe.Type: Invoke(MakeSafeReceived, (MakeSafe)message, id); break;
                case Pause.Type: Invoke(PauseReceived, (Pause)message, id); break;
                case Resume.Type: Invoke(ResumeReceived, (Resume)message, id); break;
                case Prompt.Type: Invoke(PromptReceived, (Prompt)message, id); break;
                case Marker.Type: Invoke(MarkerReceived, (Marker)message, id); break;
                case MirrorSettings.Type: Invoke(MirrorSettingsReceived, (MirrorSettings)message, id); break;
            }
        }
    }
}
