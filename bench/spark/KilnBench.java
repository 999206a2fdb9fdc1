// Apache Spark side of Kiln's benchmark harness. Every job runs in the JVM
// (Java RDD / DataFrame API, no Python workers).
//
// Usage (through spark-submit, master and resources set on its command line):
//   KilnBench cold N
//   KilnBench sched_tasks N
//   KilnBench sched_jobs N
//   KilnBench wordcount INPUT OUTPUT PARTS
//   KilnBench sort INPUT OUTPUT PARTS
//   KilnBench pagerank INPUT ITERS OUTPUT PARTS
//
// stdout carries only "BENCH <key> <value>" lines; everything else goes to stderr.
// "session_seconds" is the time from entering main to a live SparkSession whose
// executors have all registered (spark.cores.max / spark.executor.cores of them),
// so that the timed part ("seconds") measures the job, not executor launch.

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.split;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

import org.apache.spark.HashPartitioner;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import scala.Tuple2;

public final class KilnBench {
  private static final PrintStream OUT = System.out;
  private static final PrintStream ERR = System.err;
  private static final long EXECUTOR_WAIT_MS = 120_000;

  private KilnBench() {}

  public static void main(String[] args) throws Exception {
    long t0 = System.nanoTime();
    if (args.length < 1) usage();
    String sub = args[0];
    int want = switch (sub) {
      case "cold", "sched_tasks", "sched_jobs" -> 2;
      case "wordcount", "sort" -> 4;
      case "pagerank" -> 5;
      default -> { usage(); yield 0; }
    };
    if (args.length != want) usage();

    SparkSession spark = SparkSession.builder().appName("kiln-bench-" + sub).getOrCreate();
    int rc = 0;
    try {
      if (sub.equals("cold")) {
        // The harness times the whole process; no executor wait here on purpose.
        rc = cold(spark, Long.parseLong(args[1]));
      } else {
        double waitSec = waitForExecutors(spark.sparkContext());
        emit("session_seconds", seconds(t0));
        emit("executor_wait_seconds", waitSec);
        switch (sub) {
          case "sched_tasks" -> rc = schedTasks(spark, Integer.parseInt(args[1]));
          case "sched_jobs" -> rc = schedJobs(spark, Integer.parseInt(args[1]));
          case "wordcount" -> rc = wordcount(spark, args[1], args[2], Integer.parseInt(args[3]));
          case "sort" -> rc = sort(spark, args[1], args[2], Integer.parseInt(args[3]));
          case "pagerank" -> rc = pagerank(spark, args[1], Integer.parseInt(args[2]), args[3],
              Integer.parseInt(args[4]));
          default -> usage();
        }
      }
    } finally {
      spark.stop();
    }
    System.exit(rc);
  }

  private static void usage() {
    ERR.println("usage: KilnBench cold N | sched_tasks N | sched_jobs N"
        + " | wordcount INPUT OUTPUT PARTS | sort INPUT OUTPUT PARTS"
        + " | pagerank INPUT ITERS OUTPUT PARTS");
    System.exit(2);
  }

  private static void emit(String key, Object value) {
    OUT.println("BENCH " + key + " " + value);
    OUT.flush();
  }

  private static void emit(String key, double value) {
    emit(key, (Object) String.format(Locale.ROOT, "%.6f", value));
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  /** Executors this application should get: spark.cores.max / spark.executor.cores. */
  private static int expectedExecutors(SparkConf conf) {
    if (!conf.contains("spark.cores.max")) return 1;
    int maxCores = conf.getInt("spark.cores.max", 1);
    int perExecutor = conf.getInt("spark.executor.cores", 1);
    return Math.max(1, maxCores / Math.max(1, perExecutor));
  }

  /** Waits until all expected executors have registered; returns seconds waited. */
  private static double waitForExecutors(SparkContext sc) throws InterruptedException {
    long t0 = System.nanoTime();
    int want = expectedExecutors(sc.getConf());
    long deadline = System.currentTimeMillis() + EXECUTOR_WAIT_MS;
    while (true) {
      // getExecutorInfos() includes the driver.
      int have = sc.statusTracker().getExecutorInfos().length - 1;
      if (have >= want) break;
      if (System.currentTimeMillis() > deadline) {
        ERR.println("KilnBench: only " + have + " of " + want + " executors registered after "
            + EXECUTOR_WAIT_MS / 1000 + "s; continuing");
        break;
      }
      Thread.sleep(5);
    }
    return seconds(t0);
  }

  private static int cold(SparkSession spark, long n) {
    // SparkContext.range is parallelize(0 until n) without materialising the list.
    long count = spark.sparkContext().range(0L, n, 1L, 2).count();
    emit("count", Long.toString(count));
    return count == n ? 0 : 1;
  }

  private static int schedTasks(SparkSession spark, int n) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    List<Integer> one = new ArrayList<>(n);
    for (int i = 0; i < n; i++) one.add(i);
    long t0 = System.nanoTime();
    long count = jsc.parallelize(one, n).count();  // n partitions of one element each
    emit("seconds", seconds(t0));
    if (count != n) {
      ERR.println("KilnBench: sched_tasks counted " + count + ", expected " + n);
      return 1;
    }
    return 0;
  }

  private static int schedJobs(SparkSession spark, int n) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    List<Integer> one = Collections.singletonList(1);
    for (int i = 0; i < 20; i++) jsc.parallelize(one, 1).count();  // warm-up, not measured
    double[] ms = new double[n];
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      long s = System.nanoTime();
      long c = jsc.parallelize(one, 1).count();
      ms[i] = (System.nanoTime() - s) / 1e6;
      if (c != 1) {
        ERR.println("KilnBench: sched_jobs job " + i + " counted " + c);
        return 1;
      }
    }
    double total = seconds(t0);
    Arrays.sort(ms);
    emit("median_ms", n == 0 ? 0 : (n % 2 == 1 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2));
    emit("p99_ms", n == 0 ? 0 : ms[Math.max(0, (int) Math.ceil(0.99 * n) - 1)]);  // nearest rank
    emit("seconds", total);
    return 0;
  }

  private static int wordcount(SparkSession spark, String input, String output, int parts) {
    spark.conf().set("spark.sql.shuffle.partitions", Integer.toString(parts));
    long t0 = System.nanoTime();
    Dataset<Row> words = spark.read().text(input)
        .select(explode(split(col("value"), "\\s+")).as("word"))
        .filter(col("word").notEqual(""));
    words.groupBy("word").count()
        .select(concat_ws("\t", col("word"), col("count").cast("string")))
        .write().text(output);
    emit("seconds", seconds(t0));
    return 0;
  }

  private static int sort(SparkSession spark, String input, String output, int parts) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    long t0 = System.nanoTime();
    JavaRDD<String> lines = jsc.textFile(input);
    JavaPairRDD<String, String> keyed =
        lines.mapToPair(line -> new Tuple2<>(line.substring(0, Math.min(10, line.length())), line));
    keyed.sortByKey(true, parts).values().saveAsTextFile(output);
    emit("seconds", seconds(t0));
    return 0;
  }

  /**
   * Spark's classic SparkPageRank example in the Java RDD API: links grouped by source
   * with a HashPartitioner of PARTS partitions and cached; ranks reduced with the same
   * partitioner, so each iteration's join with links is a narrow dependency and only
   * the contributions are shuffled. Two departures from the example, neither changing
   * the result: vertex ids are Integers, not Strings (the input's ids are decimal ints,
   * and strings would only slow Spark down), and there is no distinct() (the input has
   * no duplicate edges). Input lines are "src dst".
   */
  private static int pagerank(SparkSession spark, String input, int iters, String output,
      int parts) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    HashPartitioner partitioner = new HashPartitioner(parts);
    long t0 = System.nanoTime();
    JavaPairRDD<Integer, Iterable<Integer>> links = jsc.textFile(input, parts)
        .mapToPair(line -> {
          int space = line.indexOf(' ');
          return new Tuple2<>(Integer.parseInt(line.substring(0, space)),
              Integer.parseInt(line.substring(space + 1).trim()));
        })
        .groupByKey(partitioner)
        .cache();
    JavaPairRDD<Integer, Double> ranks = links.mapValues(dsts -> 1.0);
    for (int i = 0; i < iters; i++) {
      JavaPairRDD<Integer, Double> contribs = links.join(ranks).values().flatMapToPair(pair -> {
        Iterable<Integer> dsts = pair._1();
        int count = 0;
        for (Integer ignored : dsts) count++;
        double share = pair._2() / count;
        List<Tuple2<Integer, Double>> out = new ArrayList<>(count);
        for (Integer dst : dsts) out.add(new Tuple2<>(dst, share));
        return out.iterator();
      });
      ranks = contribs.reduceByKey(partitioner, Double::sum).mapValues(sum -> 0.15 + sum * 0.85);
    }
    ranks.map(pair -> pair._1() + "\t" + pair._2()).saveAsTextFile(output);
    emit("seconds", seconds(t0));
    return 0;
  }
}
