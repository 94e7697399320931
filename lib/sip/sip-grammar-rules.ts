/**
 * sip.js's grammar rules as JavaScript functions instead of bytecode run by an interpreter.
 *
 * Why this exists: sip.js 0.21.2's generated parser (lib/grammar/pegjs/dist/grammar.js, peggy's
 * "size" output) keeps each grammar rule as bytecode and runs it through one interpreter,
 * `peg$parseRule`: a `switch` per instruction and three new arrays (its value stack, the block ends
 * and the return addresses) for every rule it enters, several hundred per header. With its tables
 * built once (lib/sip/sip-grammar.ts) that interpreter was still the largest single function on the
 * main thread per call (docs/benchmarks.md "Call set-up cost"). peggy's other output ("speed") is
 * the same bytecode compiled to one function per rule, the value stack held in local variables; sip.js
 * does not ship its grammar's source, so this module does what peggy's code generator does
 * (peggy/pegjs `generate-js`, `generateRuleFunction`), from the bytecode sip.js ships. Written here
 * rather than taken from peggy: its generator wants the grammar's syntax tree, which sip.js does not
 * ship, and the instruction set below is the one sip.js's interpreter runs (checked against its text
 * by lib/sip/sip-grammar.ts before this is used).
 *
 * Each instruction's code below is what the interpreter does for it, with `stack[stack.length - 1 - i]`
 * written as the local variable the compiler knows holds it. The compiler refuses (throws) bytecode
 * whose branches leave the stack at different depths, loops that move it, an unknown opcode, or a
 * rule that does not end with exactly one value: the interpreter could run those, a function of
 * locals could not say the same, and lib/sip/sip-grammar.ts then keeps the interpreter.
 */

/** The names the generated code uses from the grammar's scope (all of them peg$parse's own, but the two prefixes). */
export const RULE_PREFIX = 'peg$rule_';
export const CONST_PREFIX = 'peg$k_';

/** The code of one function per rule (`peg$rule_<index>`), then `const peg$rules = [...]`, over the grammar's own state. */
export function compileRules(bytecode: readonly (readonly number[])[]): string {
  const used = new Set<number>();
  const functions = bytecode.map((bc, index) => compileRule(bc, index, bytecode.length, used));
  const consts = [...used].sort((a, b) => a - b).map((i) => `const ${CONST_PREFIX}${i} = peg$consts[${i}];`);
  const table = `const peg$rules = [${bytecode.map((_, i) => `${RULE_PREFIX}${i}`).join(', ')}];`;
  return [...consts, ...functions, table].join('\n');
}

function compileRule(rule: readonly number[], index: number, ruleCount: number, used: Set<number>): string {
  let sp = -1;
  let maxSp = -1;
  const s = (i: number): string => {
    if (i < 0) throw new Error(`rule ${index}: the stack underflows`);
    return `s${i}`;
  };
  const push = (expr: string): string => {
    sp++;
    if (sp > maxSp) maxSp = sp;
    return `${s(sp)} = ${expr};`;
  };
  const pop = (): string => s(sp--);
  const popN = (n: number): string[] => {
    const names: string[] = [];
    for (let i = sp - n + 1; i <= sp; i++) names.push(s(i));
    sp -= n;
    return names;
  };
  const at = (i: number): string => s(sp - i);
  const constant = (i: number): string => {
    used.add(i);
    return `${CONST_PREFIX}${i}`;
  };
  const arg = (bc: readonly number[], i: number): number => {
    const v = bc[i];
    if (v === undefined) throw new Error(`rule ${index}: an instruction runs past the rule's end`);
    return v;
  };

  function compile(bc: readonly number[]): string[] {
    const out: string[] = [];
    let ip = 0;
    /** IF-like: `argCount` operands, then the then- and else-lengths; the condition reads, never pops. */
    const condition = (cond: string, argCount: number): void => {
      const base = argCount + 3;
      const thenLength = arg(bc, ip + base - 2);
      const elseLength = arg(bc, ip + base - 1);
      const baseSp = sp;
      ip += base;
      const thenCode = compile(bc.slice(ip, ip + thenLength));
      const thenSp = sp;
      ip += thenLength;
      sp = baseSp;
      const elseCode = compile(bc.slice(ip, ip + elseLength));
      ip += elseLength;
      if (sp !== thenSp) throw new Error(`rule ${index}: the branches of a condition leave the stack at different depths`);
      out.push(`if (${cond}) {`, ...thenCode, '} else {', ...elseCode, '}');
    };
    while (ip < bc.length) {
      const op = bc[ip];
      switch (op) {
        case 0: out.push(push(constant(arg(bc, ip + 1)))); ip += 2; break; // PUSH
        case 1: out.push(push('undefined')); ip++; break; // PUSH_UNDEFINED
        case 2: out.push(push('null')); ip++; break; // PUSH_NULL
        case 3: out.push(push('peg$FAILED')); ip++; break; // PUSH_FAILED
        case 4: out.push(push('[]')); ip++; break; // PUSH_EMPTY_ARRAY
        case 5: out.push(push('peg$currPos')); ip++; break; // PUSH_CURR_POS
        case 6: pop(); ip++; break; // POP
        case 7: out.push(`peg$currPos = ${pop()};`); ip++; break; // POP_CURR_POS
        case 8: popN(arg(bc, ip + 1)); ip += 2; break; // POP_N
        case 9: { // NIP: drop the value under the top
          const top = pop();
          pop();
          out.push(push(top));
          ip++;
          break;
        }
        case 10: { // APPEND: pop, push onto the array under it
          const value = pop();
          out.push(`${at(0)}.push(${value});`);
          ip++;
          break;
        }
        case 11: { // WRAP n: the top n as one array
          const n = arg(bc, ip + 1);
          if (n > sp + 1) throw new Error(`rule ${index}: the stack underflows`);
          out.push(push(`[${popN(n).join(', ')}]`));
          ip += 2;
          break;
        }
        case 12: out.push(push(`input.substring(${pop()}, peg$currPos)`)); ip++; break; // TEXT
        case 13: condition(at(0), 0); break; // IF
        case 14: condition(`${at(0)} === peg$FAILED`, 0); break; // IF_ERROR
        case 15: condition(`${at(0)} !== peg$FAILED`, 0); break; // IF_NOT_ERROR
        case 16: { // WHILE_NOT_ERROR
          const bodyLength = arg(bc, ip + 1);
          const cond = `${at(0)} !== peg$FAILED`;
          const baseSp = sp;
          ip += 2;
          const body = compile(bc.slice(ip, ip + bodyLength));
          ip += bodyLength;
          if (sp !== baseSp) throw new Error(`rule ${index}: a loop moves the stack`);
          out.push(`while (${cond}) {`, ...body, '}');
          break;
        }
        case 17: condition('input.length > peg$currPos', 0); break; // MATCH_ANY
        case 18: { // MATCH_STRING
          const c = constant(arg(bc, ip + 1));
          condition(`input.substr(peg$currPos, ${c}.length) === ${c}`, 1);
          break;
        }
        case 19: { // MATCH_STRING_IC
          const c = constant(arg(bc, ip + 1));
          condition(`input.substr(peg$currPos, ${c}.length).toLowerCase() === ${c}`, 1);
          break;
        }
        case 20: condition(`${constant(arg(bc, ip + 1))}.test(input.charAt(peg$currPos))`, 1); break; // MATCH_CHAR_CLASS
        case 21: { // ACCEPT_N
          const n = arg(bc, ip + 1);
          out.push(push(`input.substr(peg$currPos, ${n})`), `peg$currPos += ${n};`);
          ip += 2;
          break;
        }
        case 22: { // ACCEPT_STRING
          const c = constant(arg(bc, ip + 1));
          out.push(push(c), `peg$currPos += ${c}.length;`);
          ip += 2;
          break;
        }
        case 23: { // FAIL
          const c = constant(arg(bc, ip + 1));
          out.push(push('peg$FAILED'), `if (peg$silentFails === 0) { peg$fail(${c}); }`);
          ip += 2;
          break;
        }
        case 24: out.push(`peg$savedPos = ${at(arg(bc, ip + 1))};`); ip += 2; break; // LOAD_SAVED_POS
        case 25: out.push('peg$savedPos = peg$currPos;'); ip++; break; // UPDATE_SAVED_POS
        case 26: { // CALL: an action with values from the stack, replacing the top n by its result
          const fn = constant(arg(bc, ip + 1));
          const n = arg(bc, ip + 2);
          const paramCount = arg(bc, ip + 3);
          const params: string[] = [];
          for (let i = 0; i < paramCount; i++) params.push(at(arg(bc, ip + 4 + i)));
          if (n > sp + 1) throw new Error(`rule ${index}: the stack underflows`);
          popN(n);
          // `this` is what the interpreter's `apply(null, ...)` gives: none.
          out.push(push(`${fn}(${params.join(', ')})`));
          ip += 4 + paramCount;
          break;
        }
        case 27: { // RULE
          const r = arg(bc, ip + 1);
          if (r >= ruleCount) throw new Error(`rule ${index}: calls rule ${r}, which does not exist`);
          out.push(push(`${RULE_PREFIX}${r}()`));
          ip += 2;
          break;
        }
        case 28: out.push('peg$silentFails++;'); ip++; break; // SILENT_FAILS_ON
        case 29: out.push('peg$silentFails--;'); ip++; break; // SILENT_FAILS_OFF
        default:
          throw new Error(`rule ${index}: unknown opcode ${op}`);
      }
    }
    return out;
  }

  const body = compile(rule);
  if (sp !== 0) throw new Error(`rule ${index}: ends with ${sp + 1} values on the stack, not one`);
  const locals = Array.from({ length: maxSp + 1 }, (_, i) => s(i)).join(', ');
  return `function ${RULE_PREFIX}${index}() {\n  let ${locals};\n  ${body.join('\n  ')}\n  return s0;\n}`;
}
