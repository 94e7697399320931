import { strict as assert } from 'node:assert';
import { ClccStat, parseCcinfo, parseCcwa, parseCeer, parseClcc, parseClip, parseDsci, parseSsNotification, splitFields } from '../../lib/at/urc-parsers';

describe('URC parsers', () => {
  it('splits fields keeping quoted commas', () => {
    assert.deepEqual(splitFields('1,"a,b",3'), ['1', 'a,b', '3']);
  });

  it('reads +CLCC, with and without number', () => {
    assert.deepEqual(parseClcc('+CLCC: 1,0,3,0,0,"+4930123",145'), {
      index: 1, dir: 0, stat: ClccStat.Alerting, mode: 0, number: '+4930123', numberType: 145, multiparty: false,
    });
    assert.equal(parseClcc('+CLCC: 7,0,0,1,0,"",0')?.mode, 1);
    assert.equal(parseClcc('+CLCC: 2,1,4,0,0')?.number, '');
    assert.equal(parseClcc('+CLCC: x,0,0'), null);
    assert.equal(parseClcc('+CLCC: 1,3,0,0,0'), null);
    assert.equal(parseClcc('garbage'), null);
  });

  it('reads Quectel ccinfo including the release state -1', () => {
    const o = parseCcinfo('+QIND: "ccinfo",1,1,4,0,0,"10086",129');
    assert.equal(o?.stat, ClccStat.Incoming);
    assert.equal(o?.dir, 1);
    assert.equal(o?.number, '10086');
    assert.equal(parseCcinfo('+QIND: "ccinfo",1,1,-1,0,0,"10086",129')?.stat, ClccStat.Released);
    assert.equal(parseCcinfo('+QIND: "csq",1'), null);
  });

  it('reads ^DSCI, with the cause of a release, tolerating extra fields', () => {
    assert.equal(parseDsci('^DSCI: 1,0,7,0,"5551234",129')?.stat, ClccStat.Alerting);
    const end = parseDsci('^DSCI: 1,0,6,0,"5551234",129,17');
    assert.equal(end?.stat, ClccStat.Released);
    assert.equal(end?.q850, 17);
    const unisoc = parseDsci('^DSCI: 2,1,6,0,"+4930",145,0,,,21');
    assert.equal(unisoc?.number, '+4930');
    assert.equal(unisoc?.q850, 21);
    assert.equal(parseDsci('^DSCI: 1,0,9,0,"1",129'), null);
  });

  it('reads caller id from +CLIP and +CCWA', () => {
    assert.deepEqual(parseClip('+CLIP: "+4930123",145,,,"Alice",0'), { number: '+4930123', numberType: 145, name: 'Alice' });
    assert.deepEqual(parseClip('+CLIP: "",128,,,,1'), { number: '', numberType: 128, withheld: 'withheld' });
    assert.equal(parseCcwa('+CCWA: "5550001",129,1')?.number, '5550001');
  });

  it('reads the CLI validity of +CLIP (6th field) and +CCWA (5th) as the reason a number is not shown', () => {
    // 27.007: 0 valid, 1 withheld by the caller, 2 not available (interworking), 3 payphone, 4 other reasons.
    const clip = (validity: string): unknown => parseClip(`+CLIP: "",128,,,,${validity}`)?.withheld;
    assert.deepEqual(['0', '1', '2', '3', '4', '9'].map(clip), [undefined, 'withheld', 'unavailable', 'payphone', 'unavailable', 'unavailable']);
    // Quectel's layout: subaddress and alpha quoted and empty.
    assert.equal(parseClip('+CLIP: "",128,"",0,"",1')?.withheld, 'withheld');
    assert.equal(parseClip('+CLIP: "10086",129,"",0,"",0')?.withheld, undefined);
    // No validity field: an empty number is not available, a number is shown.
    assert.equal(parseClip('+CLIP: "",128')?.withheld, 'unavailable');
    assert.equal(parseClip('+CLIP: "5551234",129')?.withheld, undefined);
    // +CCWA: <number>,<type>,<class>,<alpha>,<CLI validity>
    assert.deepEqual(parseCcwa('+CCWA: "",128,1,,2'), { number: '', numberType: 128, withheld: 'unavailable' });
    assert.equal(parseCcwa('+CCWA: "",128,1,"",3')?.withheld, 'payphone');
    assert.equal(parseCcwa('+CCWA: "+4930",145,1,"Bob",0')?.withheld, undefined);
    // The class (1) is not a validity.
    assert.equal(parseCcwa('+CCWA: "+4930",145,1')?.withheld, undefined);
  });

  it('reads ^DSCI\'s <tone_info> (ASR) as inbandTones, and no such field in the Unisoc layout', () => {
    // EC200N/EC600N manual, AT^DSCI: <tone_info> 0 the host plays the prompt tones, 1 it does not.
    assert.equal(parseDsci('^DSCI: 1,0,2,0,10086,129,0')?.inbandTones, false);
    assert.equal(parseDsci('^DSCI: 1,0,7,0,"10086",129,1')?.inbandTones, true);
    assert.equal(parseDsci('^DSCI: 2,1,4,0,+48123456789,145')?.inbandTones, undefined);
    // Unisoc RIL layout (<mpty> before the number, cause later): nothing read as tones.
    const unisoc = parseDsci('^DSCI: 1,0,3,0,0,"13611112222",129,,,128,"",255');
    assert.equal(unisoc?.number, '13611112222');
    assert.equal(unisoc?.inbandTones, undefined);
    // On a release that place may be the cause: not read as tones.
    assert.equal(parseDsci('^DSCI: 1,0,6,0,"5551234",129,1')?.inbandTones, undefined);
    // Not 0/1: not a tone field.
    assert.equal(parseDsci('^DSCI: 1,0,3,0,"5551234",129,7')?.inbandTones, undefined);
  });

  it('reads +CSSU / +CSSI codes with their words; garbage is null', () => {
    assert.deepEqual(parseSsNotification('+CSSU: 2'), { kind: 'cssu', code: 2, text: 'the other side put the call on hold' });
    assert.deepEqual(parseSsNotification('+CSSU: 3,,"+4930",145'), { kind: 'cssu', code: 3, text: 'the other side took the call back' });
    assert.deepEqual(parseSsNotification('+CSSI: 3'), { kind: 'cssi', code: 3, text: 'the call is waiting' });
    assert.equal(parseSsNotification('+CSSU: 42')?.text, 'code 42');
    for (const bad of ['+CSSU:', '+CSSU: x', '+CSSU: -1', '+CSSX: 2', 'CSSU: 2']) assert.equal(parseSsNotification(bad), null, bad);
  });

  it('reads +CEER with and without a number', () => {
    assert.deepEqual(parseCeer('+CEER: "CC REJECT",17,"User busy"'), { text: 'CC REJECT: User busy', q850: 17 });
    assert.deepEqual(parseCeer('+CEER: No cause information available'), { text: 'No cause information available' });
  });
});
