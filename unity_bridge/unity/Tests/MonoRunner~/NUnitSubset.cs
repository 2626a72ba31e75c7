// The part of NUnit's API the package's tests use, for building them with Mono where the
// NUnit framework assembly is not installed (Debian's nunit-console package does not bring
// nunit.framework.dll). Unity never sees this file: folders ending in "~" are ignored, and
// there the tests run on Unity Test Framework's own NUnit 3. Semantics follow NUnit's:
// AreEqual compares numbers by value across types and arrays/collections item by item.
using System;
using System.Collections;
using System.Globalization;

namespace NUnit.Framework
{
    [AttributeUsage(AttributeTargets.Class)]
    public sealed class TestFixtureAttribute : Attribute { }

    [AttributeUsage(AttributeTargets.Method)]
    public sealed class TestAttribute : Attribute { }

    [AttributeUsage(AttributeTargets.Method)]
    public sealed class SetUpAttribute : Attribute { }

    [AttributeUsage(AttributeTargets.Method)]
    public sealed class TearDownAttribute : Attribute { }

    [AttributeUsage(AttributeTargets.Method)]
    public sealed class TestCaseSourceAttribute : Attribute
    {
        public TestCaseSourceAttribute(string sourceName) { SourceName = sourceName; }
        public string SourceName { get; private set; }
    }

    public delegate void TestDelegate();

    public sealed class AssertionException : Exception
    {
        public AssertionException(string message) : base(message) { }
    }

    public static class Assert
    {
        static void Check(bool ok, string what, string message)
        {
            if (!ok) throw new AssertionException((message != null ? message + "\n  " : "") + what);
        }

        static string Show(object o)
        {
            if (o == null) return "null";
            if (o is string) return "\"" + o + "\"";
            if (o is double) return ((double)o).ToString("R", CultureInfo.InvariantCulture);
            var e = o as IEnumerable;
            if (e != null)
            {
                var parts = new System.Collections.Generic.List<string>();
                foreach (var x in e) parts.Add(Show(x));
                return "< " + string.Join(", ", parts.ToArray()) + " >";
            }
            return Convert.ToString(o, CultureInfo.InvariantCulture);
        }

        static bool IsNumber(object o)
        {
            return o is sbyte || o is byte || o is short || o is ushort || o is int || o is uint || o is long ||
                   o is ulong || o is float || o is double || o is decimal;
        }

        static bool Same(object expected, object actual)
        {
            if (expected == null || actual == null) return expected == null && actual == null;
            if (IsNumber(expected) && IsNumber(actual))
            {
                if ((expected is double || expected is float || actual is double || actual is float))
                    return Convert.ToDouble(expected, CultureInfo.InvariantCulture)
                        .Equals(Convert.ToDouble(actual, CultureInfo.InvariantCulture));
                return Convert.ToDecimal(expected, CultureInfo.InvariantCulture) ==
                       Convert.ToDecimal(actual, CultureInfo.InvariantCulture);
            }
            if (!(expected is string) && expected is IEnumerable && actual is IEnumerable && !(actual is string))
            {
                var a = ((IEnumerable)expected).GetEnumerator();
                var b = ((IEnumerable)actual).GetEnumerator();
                while (true)
                {
                    bool ma = a.MoveNext(), mb = b.MoveNext();
                    if (ma != mb) return false;
                    if (!ma) return true;
                    if (!Same(a.Current, b.Current)) return false;
                }
            }
            return expected.Equals(actual);
        }

        public static void AreEqual(object expected, object actual, string message = null)
        {
            Check(Same(expected, actual), "Expected: " + Show(expected) + "\n  But was:  " + Show(actual), message);
        }

        public static void AreEqual(double expected, double actual, double delta, string message = null)
        {
            Check(Math.Abs(expected - actual) <= delta,
                "Expected: " + Show(expected) + " +/- " + Show(delta) + "\n  But was:  " + Show(actual), message);
        }

        public static void AreNotEqual(object expected, object actual, string message = null)
        {
            Check(!Same(expected, actual), "Expected: not " + Show(expected) + "\n  But was:  " + Show(actual), message);
        }

        public static void IsTrue(bool condition, string message = null) { Check(condition, "Expected: True", message); }

        public static void IsFalse(bool condition, string message = null) { Check(!condition, "Expected: False", message); }

        public static void IsNull(object o, string message = null) { Check(o == null, "Expected: null, but was " + Show(o), message); }

        public static void IsNotNull(object o, string message = null) { Check(o != null, "Expected: not null", message); }

        public static void Greater(double a, double b, string message = null) { Check(a > b, "Expected " + Show(a) + " > " + Show(b), message); }

        public static void LessOrEqual(double a, double b, string message = null) { Check(a <= b, "Expected " + Show(a) + " <= " + Show(b), message); }

        public static void Fail(string message) { throw new AssertionException(message); }

        public static T Throws<T>(TestDelegate code, string message = null) where T : Exception
        {
            try
            {
                code();
            }
            catch (T exc)
            {
                if (exc.GetType() == typeof(T)) return exc;
                Check(false, "Expected: " + typeof(T).Name + "\n  But was:  " + exc.GetType().Name, message);
            }
            catch (Exception exc)
            {
                Check(false, "Expected: " + typeof(T).Name + "\n  But was:  " + exc.GetType().Name + ": " + exc.Message, message);
            }
            Check(false, "Expected: " + typeof(T).Name + "\n  But was:  no exception", message);
            return null;
        }
    }

    public static class StringAssert
    {
        public static void Contains(string expected, string actual, string message = null)
        {
            if (actual == null || actual.IndexOf(expected, StringComparison.Ordinal) < 0)
                throw new AssertionException((message != null ? message + "\n  " : "") +
                                             "Expected: String containing \"" + expected + "\"\n  But was:  \"" + actual + "\"");
        }
    }
}
