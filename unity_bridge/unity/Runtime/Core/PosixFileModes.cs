using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace Vrclinic.Bridge
{
    /// <summary>
    /// Who may read a file, where the platform has POSIX permission bits: Linux and Android
    /// (statx, glibc 2.28 / Android 11 and later), macOS (stat). Windows has none (its user
    /// profile's ACLs protect the app's data folder). .NET Standard 2.x has no API for this,
    /// so it asks the C library directly. Stateless, any thread.
    /// </summary>
    public static class PosixFileModes
    {
        enum Platform { Unknown, NoModes, Linux, Darwin, OtherUnix }

        static Platform platform = Platform.Unknown;
        static readonly object Gate = new object();

        /// <summary>True where files have POSIX permission bits.</summary>
        public static bool Available { get { return Current() != Platform.NoModes; } }

        /// <summary>The name of the operating system as the C library's uname gives it
        /// ("Linux", "Darwin"); "Windows" where there is none.</summary>
        public static string SystemName
        {
            get
            {
                if (Path.DirectorySeparatorChar == '\\') return "Windows";
                return Uname() ?? "unknown";
            }
        }

        /// <summary>The permission bits of <paramref name="path"/> (e.g. 0x180 for 0600),
        /// following symbolic links; null where this platform has no modes, or they cannot be
        /// read here (an older C library without statx, an unknown Unix).</summary>
        public static int? Get(string path)
        {
            var bytes = CString(path);
            var buffer = new byte[512];
            switch (Current())
            {
                case Platform.Linux:
                    {
                        int rc;
                        try
                        {
                            rc = Libc.Call(() => Libc.StatxC(AtFdCwd, bytes, 0, StatxMode, buffer),
                                           () => Libc.StatxSo6(AtFdCwd, bytes, 0, StatxMode, buffer));
                        }
                        catch (EntryPointNotFoundException)
                        {
                            return null;
                        }
                        if (rc != 0) throw Failure("read the permissions of", path);
                        uint mask = BitConverter.ToUInt32(buffer, 0);
                        if ((mask & StatxMode) == 0) return null;
                        return BitConverter.ToUInt16(buffer, StatxModeOffset) & 0xFFF;
                    }
                case Platform.Darwin:
                    {
                        int rc;
                        try
                        {
                            rc = Libc.StatDarwinInode64(bytes, buffer); // x86_64: the 64-bit-inode stat
                        }
                        catch (EntryPointNotFoundException)
                        {
                            rc = Libc.StatDarwin(bytes, buffer); // arm64: stat is the 64-bit-inode one
                        }
                        if (rc != 0) throw Failure("read the permissions of", path);
                        return BitConverter.ToUInt16(buffer, DarwinModeOffset) & 0xFFF;
                    }
                default:
                    return null;
            }
        }

        /// <summary>Sets the permission bits of <paramref name="path"/> (chmod). Does nothing
        /// where there are no modes; IOException in words when it fails.</summary>
        public static void Set(string path, int mode)
        {
            if (!Available) return;
            var bytes = CString(path);
            int rc = Libc.Call(() => Libc.ChmodC(bytes, (uint)mode), () => Libc.ChmodSo6(bytes, (uint)mode));
            if (rc != 0) throw Failure("change the permissions of", path);
        }

        // statx (Linux 4.11+): its buffer has the same layout on every architecture.
        const int AtFdCwd = -100;
        const uint StatxMode = 0x2;
        const int StatxModeOffset = 28; // after stx_mask, stx_blksize (u32), stx_attributes (u64), nlink, uid, gid (u32)
        // macOS struct stat (64-bit inodes): st_dev (int32), then st_mode (uint16).
        const int DarwinModeOffset = 4;

        static Platform Current()
        {
            lock (Gate)
            {
                if (platform != Platform.Unknown) return platform;
                if (Path.DirectorySeparatorChar == '\\')
                {
                    platform = Platform.NoModes;
                }
                else
                {
                    string name = Uname();
                    platform = name == "Linux" ? Platform.Linux : name == "Darwin" ? Platform.Darwin : Platform.OtherUnix;
                }
                return platform;
            }
        }

        static string Uname()
        {
            // struct utsname starts with sysname on every Unix (65 bytes on Linux, 256 on macOS).
            var buffer = new byte[4096];
            try
            {
                if (Libc.Call(() => Libc.UnameC(buffer), () => Libc.UnameSo6(buffer)) != 0) return null;
            }
            catch (DllNotFoundException)
            {
                return null;
            }
            catch (EntryPointNotFoundException)
            {
                return null;
            }
            int end = Array.IndexOf(buffer, (byte)0);
            return Encoding.ASCII.GetString(buffer, 0, end < 0 ? 0 : end);
        }

        static byte[] CString(string path)
        {
            if (string.IsNullOrEmpty(path)) throw new ArgumentException("no path", "path");
            var utf8 = Encoding.UTF8.GetBytes(path);
            var bytes = new byte[utf8.Length + 1];
            Array.Copy(utf8, bytes, utf8.Length);
            return bytes;
        }

        static IOException Failure(string what, string path)
        {
            int errno = Marshal.GetLastWin32Error();
            return new IOException("cannot " + what + " " + path + " (error " + errno + ": " + Describe(errno) + ")");
        }

        static string Describe(int errno)
        {
            switch (errno)
            {
                case 1: return "not permitted";
                case 2: return "no such file or folder";
                case 13: return "permission denied";
                case 30: return "read-only file system";
                default: return "see errno";
            }
        }

        /// <summary>The C library under the two names it has: "libc" (Mono maps it to
        /// libc.so.6 on Linux; Android and macOS resolve it) and "libc.so.6" (glibc, for
        /// runtimes without Mono's map).</summary>
        static class Libc
        {
            public static int Call(Func<int> first, Func<int> second)
            {
                try
                {
                    return first();
                }
                catch (DllNotFoundException)
                {
                    return second();
                }
            }

            [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
            public static extern int StatxC(int dirfd, byte[] path, int flags, uint mask, byte[] buffer);

            [DllImport("libc.so.6", EntryPoint = "statx", SetLastError = true)]
            public static extern int StatxSo6(int dirfd, byte[] path, int flags, uint mask, byte[] buffer);

            [DllImport("libc", EntryPoint = "stat$INODE64", SetLastError = true)]
            public static extern int StatDarwinInode64(byte[] path, byte[] buffer);

            [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
            public static extern int StatDarwin(byte[] path, byte[] buffer);

            [DllImport("libc", EntryPoint = "chmod", SetLastError = true)]
            public static extern int ChmodC(byte[] path, uint mode);

            [DllImport("libc.so.6", EntryPoint = "chmod", SetLastError = true)]
            public static extern int ChmodSo6(byte[] path, uint mode);

            [DllImport("libc", EntryPoint = "uname", SetLastError = true)]
            public static extern int UnameC(byte[] buffer);

            [DllImport("libc.so.6", EntryPoint = "uname", SetLastError = true)]
            public static extern int UnameSo6(byte[] buffer);
        }
    }
}
