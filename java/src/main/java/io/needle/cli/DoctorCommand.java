package io.needle.cli;

import io.needle.engine.Backends;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code needle doctor}: which backends are usable here, and why the others are not. */
@Command(name = "doctor", description = "Report which backends are usable on this machine and why not.")
final class DoctorCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    System.out.println("backends (auto picks the first usable):");
    for (Backends.Availability a : Backends.probe())
      System.out.printf("  %-5s %-10s %s%n", a.name(), a.usable() ? "usable" : "unusable", a.detail());
    System.out.printf("java: %s %s, %d cores%n", System.getProperty("java.vm.name"), System.getProperty("java.version"),
        Runtime.getRuntime().availableProcessors());
    return Main.OK;
  }
}
