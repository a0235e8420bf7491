#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "auth/passwd_command.hpp"
#include "auth/user_store.hpp"
#include "tests/auth/test_util.hpp"

using namespace sluice::auth;
using sluice::auth::test::cheap;
using sluice::auth::test::temp_dir;

namespace {

struct run_result {
    int code;
    std::string out;
    std::string err;
};

run_result run(std::vector<std::string> args, const std::string& input,
               const hash_parameters& params = cheap()) {
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::istringstream in(input);
    std::ostringstream out, err;
    const int code =
        run_passwd_command(static_cast<int>(args.size()), argv.data(), in, out, err, params);
    return {code, out.str(), err.str()};
}

}  // namespace

TEST_CASE("passwd command: creates the file, adds and changes users", "[auth][passwd]") {
    temp_dir dir;
    const std::string path = dir / "users";
    // Default work factors once, as `sluice passwd` runs them.
    const auto r = run({"passwd", path, "alice"}, "correct horse\n", hash_parameters{});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out == "set the password of user alice in " + path + "\n");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    std::string error;
    user_store_ptr store = load_user_store(path, error);
    REQUIRE(store != nullptr);
    CHECK(store->verify("alice", "correct horse"));
    CHECK_FALSE(store->verify("alice", "correct horse\n"));
    CHECK(store->find("alice")->password.iterations == 210'000);
    CHECK(store->find("alice")->scram.iterations == 16'384);

    REQUIRE(run({"passwd", path, "bob"}, "battery staple\r\n").code == 0);
    REQUIRE(run({"passwd", path, "alice"}, "new one").code == 0);  // no newline at the end
    store = load_user_store(path, error);
    REQUIRE(store != nullptr);
    CHECK(store->size() == 2);
    CHECK(store->verify("alice", "new one"));
    CHECK_FALSE(store->verify("alice", "correct horse"));
    CHECK(store->verify("bob", "battery staple"));

    REQUIRE(run({"passwd", "--delete", path, "bob"}, "").code == 0);
    store = load_user_store(path, error);
    REQUIRE(store != nullptr);
    CHECK(store->size() == 1);
    CHECK(store->find("bob") == nullptr);
}

TEST_CASE("passwd command: usage errors exit 2", "[auth][passwd]") {
    temp_dir dir;
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"passwd"},
             {"passwd", dir / "users"},
             {"passwd", dir / "users", "alice", "extra"},
             {"passwd", "--bogus", dir / "users", "alice"},
             {"passwd", dir / "users", "bad:name"},
         }) {
        const auto r = run(args, "pw\n");
        CHECK(r.code == 2);
        const bool explained = r.err.find("usage: sluice passwd") != std::string::npos ||
                               r.err.find("invalid user name") != std::string::npos;
        CHECK(explained);
    }
    CHECK(run({"passwd", "--help"}, "").code == 0);
}

TEST_CASE("passwd command: failures exit 1 with a message and leave the file alone",
          "[auth][passwd]") {
    temp_dir dir;
    const std::string path = dir / "users";
    auto r = run({"passwd", path, "alice"}, "");
    CHECK(r.code == 1);
    CHECK(r.err == "sluice passwd: no password on standard input\n");
    r = run({"passwd", path, "alice"}, "\n");
    CHECK(r.code == 1);
    CHECK(r.err.find("printable ASCII") != std::string::npos);
    r = run({"passwd", path, "alice"}, "caf\xc3\xa9\n");
    CHECK(r.code == 1);
    r = run({"passwd", "--delete", path, "alice"}, "");
    CHECK(r.code == 1);
    CHECK(r.err == "sluice passwd: " + path + " does not exist\n");
    CHECK_FALSE(std::ifstream(path).good());

    REQUIRE(run({"passwd", path, "alice"}, "pw\n").code == 0);
    r = run({"passwd", "--delete", path, "bob"}, "");
    CHECK(r.code == 1);
    CHECK(r.err == "sluice passwd: no user 'bob' in " + path + "\n");

    std::ofstream(dir / "broken") << "sluice-passwd 1\nnot a user line\n";
    r = run({"passwd", dir / "broken", "alice"}, "pw\n");
    CHECK(r.code == 1);
    CHECK(r.err ==
          "sluice passwd: " + (dir / "broken") + ":2: expected 10 ':'-separated fields, found 1\n");

    r = run({"passwd", dir / "no/such/dir/users", "alice"}, "pw\n");
    CHECK(r.code == 1);
    CHECK(r.err.find("cannot create") != std::string::npos);
}
