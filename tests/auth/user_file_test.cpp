#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "auth/user_file.hpp"
#include "auth/user_store.hpp"
#include "tests/auth/test_util.hpp"

using namespace sluice::auth;
using sluice::auth::test::cheap;
using sluice::auth::test::temp_dir;

namespace {

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

// A valid user line for "alice" (salts and hashes of the right sizes).
const std::string good_line =
    "alice:pbkdf2-sha512:1000:AAAAAAAAAAAAAAAAAAAAAA==:" + std::string(86, 'A') +
    "==:scram-sha-256:4096:AAAAAAAAAAAAAAAAAAAAAA==:" + std::string(43, 'A') +
    "=:" + std::string(43, 'A') + "=";

}  // namespace

TEST_CASE("user file: serialise and parse round trip", "[auth][user_file]") {
    user_file f;
    REQUIRE(f.set_password("alice", "correct horse", cheap()));
    REQUIRE(f.set_password("bob", "battery staple", cheap()));
    const std::string text = serialize_user_file(f);
    CHECK(text.find("correct horse") == std::string::npos);
    CHECK(text.find("\nsluice-passwd 1\n") != std::string::npos);

    const auto parsed = parse_user_file(text, "users");
    REQUIRE(parsed.file);
    REQUIRE(parsed.file->users().size() == 2);
    const user_record* a = parsed.file->find("alice");
    REQUIRE(a != nullptr);
    const user_record* orig = f.find("alice");
    CHECK(a->password.iterations == 1000);
    CHECK(a->password.salt == orig->password.salt);
    CHECK(a->password.hash == orig->password.hash);
    CHECK(a->scram.iterations == 4096);
    CHECK(a->scram.salt == orig->scram.salt);
    CHECK(a->scram.stored_key == orig->scram.stored_key);
    CHECK(a->scram.server_key == orig->scram.server_key);
    CHECK(a->password.salt.size() == 16);
    CHECK(a->password.salt != a->scram.salt);
    CHECK(serialize_user_file(*parsed.file) == text);
}

TEST_CASE("user file: comments, blank lines and CRLF are accepted", "[auth][user_file]") {
    const auto r =
        parse_user_file("# users\n\r\nsluice-passwd 1\r\n  # x\n" + good_line + "\r\n", "users");
    INFO(r.error);
    REQUIRE(r.file);
    CHECK(r.file->find("alice") != nullptr);
    CHECK(parse_user_file("sluice-passwd 1\n", "users").file->users().empty());
}

TEST_CASE("user file: a bad line is reported with the file and line", "[auth][user_file]") {
    const auto error_of = [](const std::string& text) {
        const auto r = parse_user_file(text, "conf/users");
        CHECK_FALSE(r.file);
        return r.error;
    };
    const std::string h = "sluice-passwd 1\n";
    CHECK(error_of("") == "conf/users:1: missing the header line 'sluice-passwd 1'");
    CHECK(error_of("sluice-passwd 2\n") ==
          "conf/users:1: expected the header line 'sluice-passwd 1'");
    CHECK(error_of(h + "# c\n" + good_line + "\nalice:x\n") ==
          "conf/users:4: expected 10 ':'-separated fields, found 2");
    CHECK(error_of(h + good_line + "\n" + good_line + "\n") ==
          "conf/users:3: user 'alice' appears twice");

    const auto with = [&](const std::string& from, const std::string& to) {
        std::string line = good_line;
        line.replace(line.find(from), from.size(), to);
        return h + line + "\n";
    };
    CHECK(error_of(with("pbkdf2-sha512", "md5")).starts_with("conf/users:2: unknown password"));
    CHECK(
        error_of(with("scram-sha-256", "scram-sha-1")).starts_with("conf/users:2: unknown SCRAM"));
    CHECK(error_of(with(":1000:", ":999:")) ==
          "conf/users:2: pbkdf2-sha512 iteration count out of range");
    CHECK(error_of(with(":1000:", ":1e3:")) ==
          "conf/users:2: pbkdf2-sha512 iteration count out of range");
    CHECK(error_of(with(":4096:", ":4095:")) ==
          "conf/users:2: scram-sha-256 iteration count out of range");
    CHECK(error_of(with("AAAAAAAAAAAAAAAAAAAAAA==", "AAAA*AAAAAAAAAAAAAAAAA==")) ==
          "conf/users:2: invalid base64");
    CHECK(error_of(with("AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAA")) ==
          "conf/users:2: salt must be 16 to 64 bytes");
    CHECK(error_of(with("==:scram", "AAAA==:scram")) ==
          "conf/users:2: hash or key of the wrong length");
    CHECK(error_of(with("alice", "al ice")) == "conf/users:2: invalid user name");
    CHECK(error_of(with("alice", "")) == "conf/users:2: invalid user name");
}

TEST_CASE("user file: load names the file when it cannot be read", "[auth][user_file]") {
    temp_dir dir;
    const auto r = load_user_file(dir / "missing");
    CHECK_FALSE(r.file);
    CHECK(r.error.starts_with(dir / "missing: cannot open"));
}

TEST_CASE("user file: save is atomic, mode 0600, and leaves no temporary file",
          "[auth][user_file]") {
    temp_dir dir;
    const std::string path = dir / "users";
    user_file f;
    REQUIRE(f.set_password("alice", "pw-one", cheap()));
    std::string error;
    ::umask(022);
    REQUIRE(save_user_file(path, f, error));
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    // Saving over an existing file replaces it whole.
    REQUIRE(f.set_password("bob", "pw-two", cheap()));
    REQUIRE(save_user_file(path, f, error));
    const auto loaded = load_user_file(path);
    REQUIRE(loaded.file);
    CHECK(loaded.file->users().size() == 2);
    CHECK(read_all(path) == serialize_user_file(f));
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path()))
        ++entries;
    CHECK(entries == 1);

    // A failed save (the target is a non-empty directory, so rename fails) leaves no
    // temporary file and reports the path.
    std::filesystem::create_directory(dir / "taken");
    write_all(dir / "taken/x", "x");
    CHECK_FALSE(save_user_file(dir / "taken", f, error));
    CHECK(error.find(dir / "taken") != std::string::npos);
    entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path()))
        ++entries;
    CHECK(entries == 2);
    CHECK_FALSE(save_user_file(dir / "no/such/dir/users", f, error));
}

TEST_CASE("user file: set, change and delete users", "[auth][user_file]") {
    user_file f;
    CHECK_FALSE(f.set_password("bad:name", "pw", cheap()));
    CHECK_FALSE(f.set_password("#x", "pw", cheap()));
    CHECK_FALSE(f.set_password("alice", "", cheap()));
    CHECK_FALSE(f.set_password("alice", "caf\xc3\xa9", cheap()));  // non-ASCII refused
    CHECK_FALSE(f.set_password("alice", "tab\there", cheap()));
    REQUIRE(f.set_password("alice", "one", cheap()));
    const bytes first_salt = f.find("alice")->password.salt;
    REQUIRE(f.set_password("alice", "two", cheap()));
    CHECK(f.find("alice")->password.salt != first_salt);
    CHECK(f.users().size() == 1);
    CHECK(verify_password(f.find("alice")->password, "two"));
    CHECK_FALSE(verify_password(f.find("alice")->password, "one"));
    CHECK(f.remove("alice"));
    CHECK_FALSE(f.remove("alice"));
    CHECK(f.users().empty());
}

TEST_CASE("user store: verifies right and wrong passwords", "[auth][user_store]") {
    user_file f;
    REQUIRE(f.set_password("alice", "correct horse", cheap()));
    const user_store_ptr store = std::make_shared<const user_store>(std::move(f));
    CHECK(store->size() == 1);
    CHECK(store->verify("alice", "correct horse"));
    CHECK_FALSE(store->verify("alice", "correct hors"));
    CHECK_FALSE(store->verify("alice", "correct horse "));
    CHECK_FALSE(store->verify("alice", ""));
    CHECK_FALSE(store->verify("Alice", "correct horse"));
    CHECK_FALSE(store->verify("nobody", "correct horse"));
}

TEST_CASE("user store: loads from a file, reports errors with the line", "[auth][user_store]") {
    temp_dir dir;
    user_file f;
    REQUIRE(f.set_password("alice", "pw", cheap()));
    std::string error;
    REQUIRE(save_user_file(dir / "users", f, error));
    const user_store_ptr store = load_user_store(dir / "users", error);
    REQUIRE(store != nullptr);
    CHECK(store->verify("alice", "pw"));

    write_all(dir / "bad", "sluice-passwd 1\nalice\n");
    CHECK(load_user_store(dir / "bad", error) == nullptr);
    CHECK(error == dir / "bad:2: expected 10 ':'-separated fields, found 1");
}
