#!/usr/bin/perl
# Perl Gearman::Client with one Gearman::Taskset keeping <inflight> jobs in flight: each
# on_complete frees a place that the next add_task takes. One connection per process (the taskset keys its sockets by
# "host:port"), so N connections are N of these processes, each with its share of the jobs.
# Args: host port function jobs warmup inflight run-id first-index.
# Runs the warm-up, prints "ready", waits for "go" on stdin, runs the timed jobs and prints
# "result {json}" (same fields as the JS clients), then waits for "exit". Payloads: see bench/jobs/payload.ts.
use strict;
use warnings;
use Gearman::Client;
use Time::HiRes ();

$| = 1;
my ($host, $port, $fn, $jobs, $warmup, $inflight, $run_id, $first) = @ARGV;
my $client = Gearman::Client->new(job_servers => ["$host:$port"]);

sub payload {
    my ($run, $i) = @_;
    my $s = "echo:$run:$i:";
    return $s . ('x' x (40 - length $s));
}

sub batch {
    my ($run, $count) = @_;
    my @lat = (0) x $count;
    my ($next, $done, $bad, $filling) = (0, 0, 0, 0);
    my $ts = $client->new_task_set;
    my $fill;
    my $launch = sub {
        my $k   = $next++;
        my $idx = $first + $k;
        my $p   = payload($run, $idx);
        my $t0  = Time::HiRes::time();
        $ts->add_task(
            $fn, \$p,
            {
                uniq        => "$run-$idx",
                on_complete => sub {
                    my $res = shift;
                    $lat[$k] = int((Time::HiRes::time() - $t0) * 1e6 + 0.5);
                    $bad++ unless defined $res && $$res eq $p;
                    $done++;
                    $fill->();
                },
                on_fail => sub { die "job $idx failed: @_\n" },
            }
        );
    };
    # add_task blocks until JOB_CREATED and runs other tasks' on_complete meanwhile; refilling
    # straight from on_complete would nest without bound (and overshoot), so a completion seen
    # inside add_task only frees a place that the running fill loop then takes.
    $fill = sub {
        return if $filling;
        $filling = 1;
        $launch->() while $next < $count && $next - $done < $inflight;
        $filling = 0;
    };
    my $start = Time::HiRes::time();
    $fill->();
    $ts->wait while $done < $count;
    my $end = Time::HiRes::time();
    undef $fill;
    return ($bad, $start, $end, \@lat);
}

my ($wbad) = batch(-$run_id, $warmup);
die "$wbad wrong results during the warm-up\n" if $wbad;
print "ready\n";
while (my $line = <STDIN>) { last if $line =~ /^go\s*$/; }
my ($bad, $start, $end, $lat) = batch($run_id, $jobs);
printf "result {\"jobs\":%d,\"bad\":%d,\"startMs\":%.3f,\"endMs\":%.3f,\"latUs\":[%s]}\n",
    $jobs, $bad, $start * 1000, $end * 1000, join(',', @$lat);
while (my $line = <STDIN>) { last if $line =~ /^exit\s*$/; }
