#!/usr/bin/perl
# Perl Gearman::Worker (libgearman-client-perl) echoing jobs, as its POD shows:
# register_function, then `work while 1`. One connection per process: Gearman::Worker keys its
# sockets by "host:port", so N connections to one gearmand are N of these processes.
# Args: host port function. Prints "ready"; on SIGTERM prints "done <jobs>" and exits.
# Every time the library drops its connection (it does after a GRAB unanswered for 0.5 s) a
# line goes to stderr: gearmand then requeues what that connection held.
use strict;
use warnings;
use Gearman::Worker;

$| = 1;
my ($host, $port, $fn) = @ARGV;
my $jobs = 0;
$SIG{TERM} = sub { print "done $jobs\n"; exit 0; };

{
    no warnings 'redefine';
    my $uncache = \&Gearman::Worker::_uncache_sock;
    *Gearman::Worker::_uncache_sock = sub {
        print STDERR "perl worker: dropped its connection (" . ($_[2] // '?') . ")\n";
        return $uncache->(@_);
    };
}

my $worker = Gearman::Worker->new(job_servers => ["$host:$port"]);
$worker->register_function($fn => sub { $jobs++; return $_[0]->arg; });
print "ready\n";
$worker->work while 1;
