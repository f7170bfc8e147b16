// The shared test helpers themselves: a child's argv, environment, captured output and exit status, the
// timeouts, SIGTERM and SIGKILL, the one-line reason of a child that cannot exec; a temporary directory
// that goes away with its object.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

using namespace std::chrono_literals;
using opt::test::ChildOptions;
using opt::test::ChildProcess;
using opt::test::TempDir;

TEST_CASE("child process: argv, environment, output and exit status") {
  TempDir dir("optrollup-support");
  ChildOptions o;
  o.argv = {"/bin/sh", "-c", "echo \"out $1 $OPT_SUPPORT_TEST\"; echo err >&2; exit 3", "sh", "arg1"};
  o.env = {{"OPT_SUPPORT_TEST", "from-env"}};
  o.log_path = dir.file("child.log");
  ChildProcess p(o);
  auto status = p.wait_exit(10s);
  REQUIRE(status.has_value());
  CHECK(*status == 3);
  CHECK_FALSE(p.signalled());
  CHECK(p.output().find("out arg1 from-env\n") != std::string::npos);
  CHECK(p.output().find("err\n") != std::string::npos);
  CHECK(p.errors() == "err\n");
  std::ifstream log(dir.file("child.log"));
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(text == p.output());
}

TEST_CASE("child process: wait_for, timeouts, SIGTERM and SIGKILL") {
  ChildOptions o;
  o.argv = {"/bin/sh", "-c", "trap 'echo bye; exit 7' TERM; echo ready 42; while :; do sleep 0.05; done"};
  ChildProcess p(o);
  CHECK(p.wait_for("ready ([0-9]+)", 10s) == std::optional<std::string>("42"));
  CHECK_FALSE(p.wait_for("never printed", 200ms).has_value());
  CHECK_FALSE(p.wait_exit(200ms).has_value());  // still running
  CHECK(p.running());
  CHECK(p.terminate(10s) == 7);
  CHECK(p.output().find("bye") != std::string::npos);
  CHECK_FALSE(p.running());

  ChildOptions stubborn;
  stubborn.argv = {"/bin/sh", "-c", "trap '' TERM; echo up; while :; do sleep 0.05; done"};
  ChildProcess q(stubborn);
  REQUIRE(q.wait_for("up", 10s).has_value());
  CHECK(q.terminate(300ms) == -1);  // ignored SIGTERM: killed
  CHECK(q.signalled());
  CHECK(q.status() == 128 + 9);

  ChildOptions sleeper;
  sleeper.argv = {"/bin/sleep", "30"};
  ChildProcess r(sleeper);
  CHECK(r.running());
  r.kill9();
  CHECK_FALSE(r.running());
  CHECK(r.status() == 128 + 9);
}

TEST_CASE("child process: one that cannot exec says why on its stderr") {
  ChildOptions o;
  o.argv = {"/nonexistent/optrollup-support-test"};
  ChildProcess p(o);
  auto status = p.wait_exit(10s);
  REQUIRE(status.has_value());
  CHECK(*status == 127);
  CHECK(p.errors() == "cannot exec /nonexistent/optrollup-support-test: No such file or directory\n");

  ChildOptions bad_dir;
  bad_dir.argv = {"/bin/true"};
  bad_dir.cwd = "/nonexistent-dir";
  ChildProcess q(bad_dir);
  REQUIRE(q.wait_exit(10s).has_value());
  CHECK(q.status() == 127);
  CHECK(q.errors() == "cannot enter /nonexistent-dir: No such file or directory\n");
}

TEST_CASE("temp dir: made fresh, removed with its contents") {
  std::string path;
  {
    TempDir d("optrollup-support");
    path = d.path();
    CHECK(std::filesystem::is_directory(path));
    CHECK(std::filesystem::path(path).filename().string().rfind("optrollup-support.", 0) == 0);
    std::filesystem::create_directories(d.file("a/b"));
    std::ofstream(d.file("a/b/c")) << "x";
    TempDir other("optrollup-support");
    CHECK(other.path() != path);
  }
  if (!TempDir::keep_requested()) CHECK_FALSE(std::filesystem::exists(path));
}
