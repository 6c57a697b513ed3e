<?php
use PHPUnit\Framework\TestCase;

final class QueueTest extends TestCase {

	const NOW = 1790000000;

	public function test_the_latest_change_of_a_post_replaces_the_earlier_one() {
		$state = Newsrec_Queue::add( array(), 5, 'put', self::NOW );
		list( $state ) = Newsrec_Queue::failed( $state, 5, self::NOW, 'down' );
		$state = Newsrec_Queue::add( $state, 5, 'delete', self::NOW + 10 );
		$this->assertSame(
			array(
				5 => array(
					'op'       => 'delete',
					'attempts' => 0,
					'next'     => self::NOW + 10,
					'error'    => '',
				),
			),
			$state
		);
	}

	public function test_due_entries_come_oldest_first_and_ties_by_post_id() {
		$state = array();
		foreach ( array( 9 => 30, 4 => 10, 7 => 10, 2 => 500 ) as $id => $offset ) {
			$state = Newsrec_Queue::add( $state, $id, 'put', self::NOW + $offset );
		}
		$this->assertSame( array( 4, 7, 9 ), Newsrec_Queue::due( $state, self::NOW + 100, 10 ) );
		$this->assertSame( array( 4, 7 ), Newsrec_Queue::due( $state, self::NOW + 100, 2 ) );
		$this->assertSame( array(), Newsrec_Queue::due( $state, self::NOW, 10 ) );
		$this->assertSame( array( 4, 7, 9, 2 ), Newsrec_Queue::due( $state, self::NOW, 10, true ) );
	}

	public function test_each_failure_doubles_the_wait_up_to_an_hour() {
		$waits = array();
		for ( $attempts = 1; $attempts <= 9; $attempts++ ) {
			$waits[] = Newsrec_Queue::delay( $attempts );
		}
		$this->assertSame( array( 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600 ), $waits );
		$state         = Newsrec_Queue::add( array(), 3, 'put', self::NOW );
		list( $state ) = Newsrec_Queue::failed( $state, 3, self::NOW, 'no answer' );
		list( $state ) = Newsrec_Queue::failed( $state, 3, self::NOW + 60, 'HTTP 503' );
		$this->assertSame( 2, $state[3]['attempts'] );
		$this->assertSame( self::NOW + 60 + 120, $state[3]['next'] );
		$this->assertSame( 'HTTP 503', $state[3]['error'] );
		$this->assertSame( array(), Newsrec_Queue::due( $state, self::NOW + 179, 10 ) );
		$this->assertSame( array( 3 ), Newsrec_Queue::due( $state, self::NOW + 180, 10 ) );
	}

	public function test_an_entry_is_given_up_after_the_last_try() {
		$state = Newsrec_Queue::add( array(), 3, 'put', self::NOW );
		for ( $i = 1; $i < Newsrec_Queue::MAX_ATTEMPTS; $i++ ) {
			list( $state, $given_up ) = Newsrec_Queue::failed( $state, 3, self::NOW, 'down' );
			$this->assertFalse( $given_up );
		}
		list( $state, $given_up ) = Newsrec_Queue::failed( $state, 3, self::NOW, 'down' );
		$this->assertTrue( $given_up );
		$this->assertSame( array(), $state );
	}

	public function test_removing_one_post_keeps_the_others() {
		$state = Newsrec_Queue::add( Newsrec_Queue::add( array(), 1, 'put', self::NOW ), 2, 'delete', self::NOW );
		$this->assertSame( array( 2 ), array_keys( Newsrec_Queue::remove( $state, 1 ) ) );
	}

	public function answers() {
		return array(
			'put ok'                         => array( 'put', 200, '', 'done' ),
			'delete ok'                      => array( 'delete', 200, '', 'done' ),
			'delete of an unknown article'   => array( 'delete', 404, 'unknown_article', 'done' ),
			'put refused: bad field'         => array( 'put', 400, 'bad_body', 'drop' ),
			'put too large'                  => array( 'put', 413, 'body_too_large', 'drop' ),
			'service down'                   => array( 'put', 0, 'unreachable', 'retry' ),
			'wrong token'                    => array( 'put', 401, 'unauthorized', 'retry' ),
			'CMS API off (no token set)'     => array( 'delete', 404, 'not_found', 'retry' ),
			'no model yet'                   => array( 'put', 503, 'no_model', 'retry' ),
			'live store down'                => array( 'delete', 503, 'live_unavailable', 'retry' ),
			'server error'                   => array( 'put', 500, 'internal_error', 'retry' ),
		);
	}

	/**
	 * @dataProvider answers
	 */
	public function test_outcome_of_an_answer( $op, $status, $code, $expected ) {
		$this->assertSame( $expected, Newsrec_Queue::outcome( $op, $status, $code ) );
	}
}
