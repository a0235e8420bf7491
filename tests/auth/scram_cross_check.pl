#!/usr/bin/perl
# Cross-checks the SCRAM-SHA-256 server and client of auth/ against an independent
# implementation, Perl's Authen::SCRAM (Debian package libauthen-scram-perl): Perl's client
# against our server (right and wrong password, a name that needs saslname escaping, an
# unknown user), and our client against Perl's server fed the credentials our password file
# stores. Usage: scram_cross_check.pl PATH-TO-scram_peer. Exits non-zero on the first failure.
use strict;
use warnings;
use Authen::SCRAM::Client;
use Authen::SCRAM::Server;
use File::Temp qw(tempdir);
use IPC::Open2;
use MIME::Base64;

my $peer = shift or die "usage: $0 PATH-TO-scram_peer\n";
my $dir = tempdir(CLEANUP => 1);
my $file = "$dir/users";
my $failures = 0;

sub check {
    my ($ok, $what) = @_;
    print(($ok ? "ok" : "FAILED"), " - $what\n");
    $failures++ unless $ok;
}

sub run_ok { system(@_) == 0 or die "failed: @_\n"; }

run_ok($peer, "adduser", $file, "alice", "correct horse");
run_ok($peer, "adduser", $file, "we,i=rd", "p\@ss w=rd,");

# Perl's client against our server; returns (server exit code, server-final, perl verdict).
sub perl_client_vs_server {
    my ($user, $password) = @_;
    my $client = Authen::SCRAM::Client->new(
        username => $user, password => $password, digest => 'SHA-256');
    my $pid = open2(my $from, my $to, $peer, "server", $file);
    print $to $client->first_msg(), "\n";
    my $server_first = <$from>;
    chomp $server_first;
    my $final = eval { $client->final_msg($server_first) };
    print $to (defined $final ? $final : ""), "\n";
    close $to;
    my $server_final = <$from>;
    chomp $server_final if defined $server_final;
    waitpid($pid, 0);
    my $code = $? >> 8;
    my $valid = defined $server_final && eval { $client->validate($server_final) } ? 1 : 0;
    return ($code, $server_final // "", $valid);
}

my ($code, $msg, $valid) = perl_client_vs_server("alice", "correct horse");
check($code == 0 && $msg =~ /^v=/ && $valid, "Authen::SCRAM client logs in to our server");

($code, $msg, $valid) = perl_client_vs_server("alice", "wrong horse");
check($code == 2 && $msg eq "e=invalid-proof" && !$valid, "wrong password: e=invalid-proof");

($code, $msg, $valid) = perl_client_vs_server("we,i=rd", "p\@ss w=rd,");
check($code == 0 && $valid, "a user name with ',' and '=' (saslname escaping)");

($code, $msg, $valid) = perl_client_vs_server("nobody", "x");
check($code == 2 && $msg eq "e=invalid-proof", "unknown user: e=invalid-proof");

# Our client against Perl's server using the credentials our file stores.
for my $case (["alice", "correct horse", 1], ["alice", "wrong", 0], ["we,i=rd", "p\@ss w=rd,", 1]) {
    my ($user, $password, $expect) = @$case;
    my $creds = `$peer credentials $file '$user'`;
    chomp $creds;
    my ($salt, $stored, $server_key, $iters) = split / /, $creds;
    my $server = Authen::SCRAM::Server->new(
        digest => 'SHA-256',
        credential_cb => sub {
            return (decode_base64($salt), decode_base64($stored), decode_base64($server_key),
                    $iters);
        });
    my $pid = open2(my $from, my $to, $peer, "client", $user, $password);
    my $client_first = <$from>;
    chomp $client_first;
    print $to $server->first_msg($client_first), "\n";
    my $client_final = <$from>;
    chomp $client_final;
    my $server_final = eval { $server->final_msg($client_final) };
    print $to (defined $server_final ? $server_final : "e=invalid-proof"), "\n";
    close $to;
    my $verdict = <$from> // "";
    chomp $verdict;
    waitpid($pid, 0);
    my $ok = $expect ? (defined $server_final && $verdict eq "ok")
                     : (!defined $server_final && $verdict eq "bad");
    check($ok, "our client and stored keys against Authen::SCRAM server: $user/"
               . ($expect ? "right" : "wrong") . " password");
}

exit($failures ? 1 : 0);
