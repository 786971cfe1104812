// Readiness probe for the local broker, run by kafka-start.sh as a Java
// single-file program (no build step):
//
//   java -cp "<libs>/*" KafkaReady.java 127.0.0.1:9092 60
//
// Succeeds (exit 0) once the broker answers a DescribeCluster and a
// ListTopics request through the normal client protocol, i.e. it is really
// serving clients and not just listening on the port. Exits 1 when the
// deadline (seconds, 2nd argument) passes first.

import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;

public class KafkaReady {
    public static void main(String[] args) throws Exception {
        String bootstrap = args.length > 0 ? args[0] : "127.0.0.1:9092";
        long timeoutS = args.length > 1 ? Long.parseLong(args[1]) : 60;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutS);

        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");

        String lastError = "no attempt";
        try (Admin admin = Admin.create(props)) {
            while (System.nanoTime() < deadline) {
                try {
                    DescribeClusterResult cluster = admin.describeCluster();
                    String clusterId = cluster.clusterId().get(5, TimeUnit.SECONDS);
                    int nodes = cluster.nodes().get(5, TimeUnit.SECONDS).size();
                    int topics = admin.listTopics().names().get(5, TimeUnit.SECONDS).size();
                    if (nodes > 0) {
                        System.out.printf("ready: cluster.id=%s nodes=%d topics=%d%n",
                                clusterId, nodes, topics);
                        return;
                    }
                    lastError = "no broker registered yet";
                } catch (Exception e) {
                    lastError = e.toString();
                }
                Thread.sleep(500);
            }
        }
        System.err.println("not ready after " + timeoutS + "s: " + lastError);
        System.exit(1);
    }
}
