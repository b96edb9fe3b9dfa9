/**
 * Follows buildah's output step by step. Buildah numbers the steps of the Dockerfile it was given,
 * which, when a build resumes from the layer cache, is shorter than the user's: its `STEP k/n:`
 * lines are renumbered to the user's Dockerfile (matched by line: the rewritten file keeps line
 * numbers). It keeps the image id buildah committed for each step (`--> <id>`, with --layers),
 * and the output of the step running now, so a failure names its step and shows that step's tail.
 */
import { parseDockerfile, type Instruction } from '../dockerfile/parse.js';

const STEP = /^STEP (\d+)\/(\d+): (.*)$/;
const COMMITTED = /^--> (?:Using cache )?([0-9a-f]{11,64})$/;
const MAX_STEP_LINES = 400;

export class StepTracker {
  /** Buildah's step number (1-based) -> index in the user's instruction list. */
  private readonly map: number[];
  private readonly total: number;
  private current: number | undefined;
  private output: string[] = [];
  /** Instruction index -> the image buildah committed after it. */
  readonly images = new Map<number, string>();
  /** Instruction index -> how long the step took, ms (its STEP line to its commit). */
  readonly durations = new Map<number, number>();
  private startedAt = 0;

  constructor(
    private readonly instructions: readonly Instruction[],
    private readonly fromIndex: number,
    rewritten: string,
    /** Told as each step starts and is committed (the layer cache's network readings, step-network.ts). */
    private readonly events: { started?(index: number): void; committed?(index: number): void } = {},
  ) {
    const parsed = parseDockerfile(rewritten).instructions;
    const from = parsed.findIndex((i) => i.keyword === 'FROM');
    const byLine = new Map(instructions.map((ins, i) => [ins.line, i]));
    this.map = parsed.slice(Math.max(0, from)).map((p) => byLine.get(p.line) ?? -1);
    this.total = instructions.length - fromIndex;
  }

  /** "STEP i/n: KEYWORD args" in the user's numbering. */
  label(index: number): string {
    const ins = this.instructions[index];
    const text = ins ? `${ins.keyword}${ins.flags.length ? ' ' + ins.flags.join(' ') : ''} ${ins.args}` : '?';
    return `STEP ${index - this.fromIndex + 1}/${this.total}: ${text}`;
  }

  /** Reads one line of buildah's output; returns it as the log should show it. */
  line(l: string): string {
    const m = STEP.exec(l);
    if (m) {
      const index = this.map[Number(m[1]) - 1];
      this.output = [];
      if (index === undefined || index < 0) {
        this.current = undefined;
        return l;
      }
      this.current = index;
      this.startedAt = Date.now();
      this.events.started?.(index);
      return `STEP ${index - this.fromIndex + 1}/${this.total}: ${m[3]}`;
    }
    const c = COMMITTED.exec(l);
    if (c && this.current !== undefined) {
      this.images.set(this.current, c[1] as string);
      this.durations.set(this.current, Date.now() - this.startedAt);
      this.events.committed?.(this.current);
      return l;
    }
    this.output.push(l);
    if (this.output.length > MAX_STEP_LINES) this.output.splice(0, this.output.length - MAX_STEP_LINES);
    return l;
  }

  /** The step running when the build stopped and the last lines of its output (buildah's own error lines left out). */
  failed(tailLines: number): { step: string; line: number; tail: string[] } | undefined {
    if (this.current === undefined) return undefined;
    const ins = this.instructions[this.current] as Instruction;
    const own = this.output.filter((l) => !/^(Error: building at STEP|error running container:|time=".*level=)/.test(l));
    return { step: this.label(this.current), line: ins.line, tail: own.slice(-tailLines) };
  }
}
