// Runs the package's NUnit-style tests without NUnit: every public method marked [Test] of
// every [TestFixture] class, once per case for [TestCaseSource], with [SetUp]/[TearDown]
// around each. Prints one line per test and a summary; the exit code is the number of
// failures (capped at 100), so a failing test fails the build. Optional argument: a
// substring of the test names to run.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using NUnit.Framework;

public static class VrclinicTestRunner
{
    public static int Main(string[] args)
    {
        string filter = args.Length > 0 ? args[0] : null;
        int passed = 0, failed = 0;
        var fixtures = typeof(VrclinicTestRunner).Assembly.GetTypes()
            .Where(t => t.GetCustomAttributes(typeof(TestFixtureAttribute), false).Length > 0)
            .OrderBy(t => t.FullName, StringComparer.Ordinal);
        foreach (var fixture in fixtures)
        {
            var methods = fixture.GetMethods(BindingFlags.Public | BindingFlags.Instance);
            var setUp = methods.Where(m => m.GetCustomAttributes(typeof(SetUpAttribute), false).Length > 0).ToArray();
            var tearDown = methods.Where(m => m.GetCustomAttributes(typeof(TearDownAttribute), false).Length > 0).ToArray();
            foreach (var method in methods.OrderBy(m => m.MetadataToken))
            {
                bool isTest = method.GetCustomAttributes(typeof(TestAttribute), false).Length > 0;
                var source = (TestCaseSourceAttribute)method.GetCustomAttributes(typeof(TestCaseSourceAttribute), false).FirstOrDefault();
                if (!isTest && source == null) continue;
                foreach (var args1 in Cases(fixture, source))
                {
                    string name = fixture.Name + "." + method.Name + (args1.Length > 0 ? "(" + args1[0] + ")" : "");
                    if (filter != null && name.IndexOf(filter, StringComparison.Ordinal) < 0) continue;
                    string failure = Run(fixture, method, args1, setUp, tearDown);
                    if (failure == null)
                    {
                        passed++;
                        Console.WriteLine("PASS " + name);
                    }
                    else
                    {
                        failed++;
                        Console.WriteLine("FAIL " + name + "\n  " + failure.Replace("\n", "\n  "));
                    }
                }
            }
        }
        Console.WriteLine(passed + " passed, " + failed + " failed");
        if (passed + failed == 0)
        {
            Console.WriteLine("no tests ran");
            return 1;
        }
        return Math.Min(failed, 100);
    }

    static IEnumerable<object[]> Cases(Type fixture, TestCaseSourceAttribute source)
    {
        if (source == null)
        {
            yield return new object[0];
            yield break;
        }
        const BindingFlags any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static;
        object data;
        var field = fixture.GetField(source.SourceName, any);
        var property = fixture.GetProperty(source.SourceName, any);
        var method = fixture.GetMethod(source.SourceName, any);
        if (field != null) data = field.GetValue(null);
        else if (property != null) data = property.GetValue(null, null);
        else if (method != null) data = method.Invoke(null, null);
        else throw new InvalidOperationException(fixture.Name + ": no static source " + source.SourceName);
        foreach (var item in (IEnumerable)data)
            yield return item as object[] ?? new[] { item };
    }

    static string Run(Type fixture, MethodInfo method, object[] args, MethodInfo[] setUp, MethodInfo[] tearDown)
    {
        object instance = Activator.CreateInstance(fixture);
        string failure = null;
        try
        {
            foreach (var m in setUp) m.Invoke(instance, null);
            method.Invoke(instance, args);
        }
        catch (TargetInvocationException exc)
        {
            failure = Describe(exc.InnerException);
        }
        try
        {
            foreach (var m in tearDown) m.Invoke(instance, null);
        }
        catch (TargetInvocationException exc)
        {
            if (failure == null) failure = "in TearDown: " + Describe(exc.InnerException);
        }
        return failure;
    }

    static string Describe(Exception exc)
    {
        if (exc is AssertionException) return exc.Message + "\n" + exc.StackTrace;
        return exc.GetType().FullName + ": " + exc.Message + "\n" + exc.StackTrace;
    }
}
