package io.needle.cli;

import io.needle.proxy.Option;
import io.needle.proxy.Proxies;
import io.needle.proxy.Proxy;
import io.needle.proxy.TaskData;
import io.needle.select.Strategies;
import io.needle.select.Strategy;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;

/** {@code needle proxies}: every registered proxy and strategy, what it reads, and its options with their defaults. */
@Command(name = "proxies",
    description = "List the proxies and strategies found on the class path (built-in and plug-ins), what each reads, and every option (--set NAME=VALUE) with its default.")
final class ProxiesCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    System.out.println("proxies (--proxy ID,... or all):");
    for (Proxy p : Proxies.all()) {
      String needs = p.needs().stream().map(n -> n.name().toLowerCase(Locale.ROOT).replace('_', '-')).collect(Collectors.joining(", "));
      System.out.printf(Locale.ROOT, "  %-17s %s%n  %-17s reads: %s; %s is better%n", p.id(), p.description(), "", needs, p.higherIsBetter() ? "higher" : "lower");
      for (Option<?> o : p.options()) option(o);
    }
    System.out.println("\nstrategies (--strategy ID):");
    for (Strategy s : Strategies.all()) System.out.printf(Locale.ROOT, "  %-17s %s%n", s.id(), s.description());
    System.out.println("\ntask options:");
    for (Option<?> o : TaskData.OPTIONS) option(o);
    return Main.OK;
  }

  private static void option(Option<?> o) {
    System.out.printf(Locale.ROOT, "  %19s--set %s=%s  %s%n", "", o.name(), o.defaultValue(), o.description());
  }
}
