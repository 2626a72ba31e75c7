using System.IO;
using UnityEditor;
using UnityEditor.Build;
using UnityEditor.Build.Reporting;
using UnityEditor.UnityLinker;

namespace Vrclinic.Bridge.Editor
{
    /// <summary>Hands the package's Runtime/link.xml to the IL2CPP linker: link.xml files in
    /// packages are not picked up by themselves, and without it code stripping removes parts
    /// of NetMQ and AsyncIO that are only reached by reflection.</summary>
    public sealed class VrclinicLinkerProcessor : IUnityLinkerProcessor
    {
        public int callbackOrder { get { return 0; } }

        public string GenerateAdditionalLinkXmlFile(BuildReport report, UnityLinkerBuildPipelineData data)
        {
            var package = UnityEditor.PackageManager.PackageInfo.FindForAssembly(typeof(VrclinicLinkerProcessor).Assembly);
            string root = package != null ? package.resolvedPath : Path.GetFullPath("Packages/org.vrclinic.bridge");
            return Path.GetFullPath(Path.Combine(root, "Runtime", "link.xml"));
        }

        // Part of the interface in 2021.3 (obsolete, with default bodies, in later versions);
        // implementing them is correct in both.
        public void OnBeforeRun(BuildReport report, UnityLinkerBuildPipelineData data) { }

        public void OnAfterRun(BuildReport report, UnityLinkerBuildPipelineData data) { }
    }
}
