using UnityEditor;
using UnityEngine;
using Vrclinic.Bridge.Unity;

namespace Vrclinic.Bridge.Editor
{
    /// <summary>The link's inspector: its fields, and in Play mode the live state of the
    /// link (state, round trip, clock offset, counters) so a developer sees at a glance
    /// whether the console is there.</summary>
    [CustomEditor(typeof(VrclinicLink))]
    public sealed class VrclinicLinkEditor : UnityEditor.Editor
    {
        public override void OnInspectorGUI()
        {
            DrawDefaultInspector();
            var link = (VrclinicLink)target;
            var client = link.Client;
            if (!Application.isPlaying || client == null)
            {
                EditorGUILayout.HelpBox("Connects to the console in Play mode, encrypted, with the keys file " + link.KeysFilePath +
                                        " (made on first start). Needs NetMQ, AsyncIO and NaCl.Net (see the package README).",
                                        MessageType.Info);
                return;
            }
            EditorGUILayout.Space();
            EditorGUILayout.LabelField("Security", EditorStyles.boldLabel);
            EditorGUILayout.LabelField("Keys file", link.KeysFilePath);
            EditorGUILayout.LabelField("Paired", link.IsPaired ? "yes" : "no");
            if (link.PairingCode != null) EditorGUILayout.LabelField("Pairing code", link.PairingCode);
            if (GUILayout.Button(link.IsPaired ? "Pair with console again" : "Pair with console")) link.PairWithConsole();
            EditorGUILayout.Space();
            EditorGUILayout.LabelField("Link", EditorStyles.boldLabel);
            EditorGUILayout.LabelField("State", client.State + (client.IsConsoleGone ? " (console gone: scene made safe)" : ""));
            if (client.Welcome != null) EditorGUILayout.LabelField("Console", client.Welcome.ConsoleName);
            EditorGUILayout.LabelField("Round trip", client.RttS.HasValue ? (client.RttS.Value * 1000).ToString("0.0") + " ms" : "–");
            EditorGUILayout.LabelField("Clock offset", client.ClockOffsetS.HasValue ? client.ClockOffsetS.Value.ToString("0.000") + " s" : "–");
            EditorGUILayout.LabelField("Scene", link.Stimulus.SceneId + " (" + link.Stimulus.State + ")");
            EditorGUILayout.LabelField("Mirror frames sent / replaced", client.FramesSent + " / " + client.FramesReplaced);
            EditorGUILayout.LabelField("Errors sent / from console", client.ErrorsSent + " / " + client.ErrorsFromConsole);
            Repaint();
        }

        [MenuItem("GameObject/vrclinic/Console Link", false, 10)]
        static void CreateLink(MenuCommand command)
        {
            var go = new GameObject("vrclinic Link", typeof(VrclinicLink), typeof(MakeSafeHandler));
            GameObjectUtility.SetParentAndAlign(go, command.context as GameObject);
            Undo.RegisterCreatedObjectUndo(go, "Create vrclinic Link");
            Selection.activeObject = go;
        }
    }
}
