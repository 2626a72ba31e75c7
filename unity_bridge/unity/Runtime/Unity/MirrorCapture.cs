using System;
using System.Threading;
using UnityEngine;
using UnityEngine.Experimental.Rendering;
using UnityEngine.Rendering;

namespace Vrclinic.Bridge.Unity
{
    /// <summary>
    /// Mirrors the patient's view to the console (SPEC.md, section 8). A disabled copy of the
    /// source camera renders into a small RenderTexture, at most as often as the console asks
    /// (mirror_settings.max_fps) and only while no frame is waiting for its ack; the pixels
    /// come back with AsyncGPUReadback (no stall) and are JPEG-encoded on a worker thread
    /// (ImageConversion.EncodeArrayToJPG), then handed to the client, which sends only the
    /// newest. Width follows max_width; both width and rate shrink when the headset misses
    /// its frame budget and grow back when there is room again.
    /// </summary>
    [AddComponentMenu("vrclinic/Mirror Capture")]
    public sealed class MirrorCapture : MonoBehaviour
    {
        [Tooltip("The patient's camera; empty: Camera.main")]
        [SerializeField] Camera sourceCamera;
        [Tooltip("The headset's display rate (Hz): the frame budget is 1/this")]
        [SerializeField] float displayRate = 72f;
        [Tooltip("Never capture narrower than this (px)")]
        [SerializeField] int minWidth = 160;
        [Tooltip("Flip rows before encoding (graphics APIs that read render textures upside down)")]
        [SerializeField] bool flipVertically;

        VrclinicLink link;
        Camera captureCamera;
        RenderTexture target;
        float scale = 1f;          // share of max_width actually used, adapted to the budget
        float rateScale = 1f;      // share of max_fps actually used
        float smoothedFrame;       // seconds per frame, smoothed
        float lastCapture = -1f;
        float roomSince = -1f;
        bool readbackPending;
        int encoding;              // 1 while a worker encodes (Interlocked)
        double lastEncodeSeconds;

        public int Width { get { return target != null ? target.width : 0; } }
        public int Height { get { return target != null ? target.height : 0; } }
        public float CurrentFps { get; private set; }

        void OnEnable()
        {
            link = VrclinicLink.Active;
            if (link == null) Debug.LogWarning("vrclinic: MirrorCapture needs a VrclinicLink in the scene.", this);
            if (!SystemInfo.supportsAsyncGPUReadback)
            {
                Debug.LogWarning("vrclinic: this device has no AsyncGPUReadback; the mirror stays off.", this);
                enabled = false;
            }
        }

        void OnDisable() { Release(); }

        void LateUpdate()
        {
            float dt = Time.unscaledDeltaTime;
            smoothedFrame = smoothedFrame <= 0 ? dt : Mathf.Lerp(smoothedFrame, dt, 0.05f);
            Adapt();
            if (link == null || link.Client == null || !link.Client.WantsMirrorFrame) return;
            var settings = link.Client.MirrorSettings;
            float fps = Mathf.Max(0.5f, (float)settings.MaxFps * rateScale);
            CurrentFps = fps;
            if (readbackPending || Volatile.Read(ref encoding) != 0) return; // one frame in the pipeline at a time
            if (lastCapture >= 0 && Time.unscaledTime - lastCapture < 1f / fps) return;
            var source = sourceCamera != null ? sourceCamera : Camera.main;
            if (source == null) return;
            if (!Prepare(source, (int)settings.MaxWidth)) return;
            lastCapture = Time.unscaledTime;
            captureCamera.CopyFrom(source);
            captureCamera.enabled = false;
            captureCamera.stereoTargetEye = StereoTargetEyeMask.None;
            captureCamera.targetTexture = target;
            captureCamera.Render();
            int quality = (int)settings.Quality;
            double capturedAt = link.Client.Now;
            int width = target.width, height = target.height;
            readbackPending = true;
            AsyncGPUReadback.Request(target, 0, TextureFormat.RGBA32, request => OnReadback(request, width, height, quality, capturedAt));
        }

        /// <summary>Shrinks resolution, then rate, while frames take longer than the budget;
        /// grows them back after two seconds with room to spare.</summary>
        void Adapt()
        {
            float budget = 1f / Mathf.Max(1f, displayRate);
            if (smoothedFrame > budget * 1.1f)
            {
                if (scale > 0.35f) scale = Mathf.Max(0.35f, scale * 0.98f);
                else rateScale = Mathf.Max(0.2f, rateScale * 0.98f);
                roomSince = -1f;
            }
            else if (smoothedFrame < budget * 0.9f)
            {
                if (roomSince < 0) roomSince = Time.unscaledTime;
                if (Time.unscaledTime - roomSince > 2f)
                {
                    if (rateScale < 1f) rateScale = Mathf.Min(1f, rateScale * 1.02f);
                    else scale = Mathf.Min(1f, scale * 1.02f);
                }
            }
            // Encoding slower than the frame interval also lowers the rate.
            var settings = link != null && link.Client != null ? link.Client.MirrorSettings : null;
            if (settings != null && settings.Enabled && Volatile.Read(ref lastEncodeSeconds) > 1.0 / Math.Max(0.5, settings.MaxFps * rateScale))
                rateScale = Mathf.Max(0.2f, rateScale * 0.95f);
        }

        bool Prepare(Camera source, int maxWidth)
        {
            float aspect = source.pixelHeight > 0 ? (float)source.pixelWidth / source.pixelHeight : 16f / 9f;
            int width = Mathf.Clamp(Mathf.RoundToInt(maxWidth * scale), Mathf.Min(minWidth, maxWidth), 3840);
            width -= width % 2;
            int height = Mathf.Clamp(Mathf.RoundToInt(width / aspect), 2, 2160);
            height -= height % 2;
            if (target != null && target.width == width && target.height == height) return true;
            if (target != null)
            {
                target.Release();
                Destroy(target);
            }
            target = new RenderTexture(width, height, 24, RenderTextureFormat.ARGB32) { name = "vrclinic mirror" };
            if (!target.Create()) return false;
            if (captureCamera == null)
            {
                var go = new GameObject("vrclinic mirror camera") { hideFlags = HideFlags.HideAndDontSave };
                captureCamera = go.AddComponent<Camera>();
                captureCamera.enabled = false;
            }
            return true;
        }

        void OnReadback(AsyncGPUReadbackRequest request, int width, int height, int quality, double capturedAt)
        {
            readbackPending = false;
            if (request.hasError || link == null || link.Client == null) return;
            // The NativeArray is valid only inside this callback: copy it out for the worker.
            var pixels = request.GetData<byte>().ToArray();
            var client = link.Client;
            bool flip = flipVertically;
            Interlocked.Exchange(ref encoding, 1);
            ThreadPool.QueueUserWorkItem(_ =>
            {
                try
                {
                    var started = DateTime.UtcNow;
                    if (flip) FlipRows(pixels, width * 4, height);
                    byte[] jpeg = ImageConversion.EncodeArrayToJPG(pixels, GraphicsFormat.R8G8B8A8_SRGB,
                        (uint)width, (uint)height, 0, quality);
                    Interlocked.Exchange(ref lastEncodeSeconds, (DateTime.UtcNow - started).TotalSeconds);
                    if (jpeg != null && jpeg.Length <= Vrclinic.Protocol.Limits.MaxJpegBytes)
                        client.OfferFrame(jpeg, width, height, capturedAt);
                }
                catch (Exception exc)
                {
                    Debug.LogException(exc);
                }
                finally
                {
                    Interlocked.Exchange(ref encoding, 0);
                }
            });
        }

        static void FlipRows(byte[] pixels, int rowBytes, int rows)
        {
            var tmp = new byte[rowBytes];
            for (int top = 0, bottom = rows - 1; top < bottom; top++, bottom--)
            {
                Buffer.BlockCopy(pixels, top * rowBytes, tmp, 0, rowBytes);
                Buffer.BlockCopy(pixels, bottom * rowBytes, pixels, top * rowBytes, rowBytes);
                Buffer.BlockCopy(tmp, 0, pixels, bottom * rowBytes, rowBytes);
            }
        }

        void Release()
        {
            if (captureCamera != null)
            {
                captureCamera.targetTexture = null;
                Destroy(captureCamera.gameObject);
                captureCamera = null;
            }
            if (target != null)
            {
                target.Release();
                Destroy(target);
                target = null;
            }
        }
    }
}
